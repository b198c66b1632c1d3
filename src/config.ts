/**
 * Every setting of the service, read from the environment and validated once, in one place.
 * A bad value stops the process at start with one line naming the variable (see `loadConfig`).
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import { z } from "zod";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const int = (min: number, def: number) => z.coerce.number().int().min(min).default(def);
/** An optional setting for which an empty value (`VAR=`) means unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

export const configSchema = z.object({
  /** PostgreSQL connection string; the database is created by `npm run db:migrate` if missing. */
  DATABASE_URL: z.string().url().default("postgresql://root@127.0.0.1:5432/nas"),
  /** Redis connection string for the BullMQ queues. */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /** Prefix of every BullMQ key in Redis; lets several deployments (or test runs) share one Redis. */
  QUEUE_PREFIX: z.string().min(1).default("nas"),
  /** Port and host of the REST API. */
  PORT: int(0, 3000),
  HOST: z.string().default("127.0.0.1"),
  /** Largest request body the API accepts, in bytes. */
  API_BODY_LIMIT: int(1024, 1_048_576),
  /** Path of the NAS-Bench-201 table (`index,arch,<value>`), read by the `benchmark` evaluator. */
  NASBENCH201_CSV: z.string().default(path.resolve(projectRoot, "../shared/benchmarks/nasbench201/cifar10.csv")),
  /** Folder of the declarative search spaces. */
  SEARCH_SPACES_DIR: z.string().default(path.resolve(projectRoot, "search-spaces")),
  /** Trial jobs a trainer process runs at once (1 for real training; more for table lookups). */
  TRAINER_CONCURRENCY: int(1, 1),
  /** Advance jobs an orchestrator process runs at once (different searches only). */
  ORCHESTRATOR_CONCURRENCY: int(1, 4),
  /** Name of this worker in trials' `worker` column; defaults to host:pid. */
  WORKER_NAME: z.string().optional(),
  /** How long a trainer's job lock lasts without renewal; a killed trainer's trial is retried after about this long. */
  JOB_LOCK_MS: int(1000, 30_000),
  /** How often workers look for stalled jobs (of killed workers). */
  STALLED_INTERVAL_MS: int(500, 30_000),
  /** How many times a trial may stall (its worker died) before it fails. */
  MAX_STALLED_COUNT: int(0, 2),
  /** Attempts a trial gets when its evaluation throws a retryable error. */
  TRIAL_ATTEMPTS: int(1, 3),
  /** First wait before a trial's retry, in ms; doubled at every further attempt (BullMQ exponential backoff). */
  TRIAL_BACKOFF_MS: int(0, 1000),
  /** Failed trial jobs kept in Redis for inspection (the trial's error is in PostgreSQL either way). */
  TRIAL_FAILED_JOBS_KEPT: int(0, 10_000),
  /** Attempts of an advance job whose run fails (e.g. PostgreSQL briefly unreachable). */
  ADVANCE_ATTEMPTS: int(1, 3),
  /** First wait before an advance's retry, in ms; doubled at every further attempt. */
  ADVANCE_BACKOFF_MS: int(0, 500),
  /** Failed advance jobs kept in Redis for inspection. */
  ADVANCE_FAILED_JOBS_KEPT: int(0, 1000),
  /** Seconds the orchestrator waits between reconciliation sweeps (re-enqueue lost work from PostgreSQL). */
  RECONCILE_INTERVAL_S: int(1, 30),
  /** Force one tfjs backend (tensorflow-gpu, tensorflow, wasm, cpu); by default the fastest that loads. */
  TFJS_BACKEND: optional(z.enum(["tensorflow-gpu", "tensorflow", "wasm", "cpu"])),
  /** A trainer runs `train` trials in a worker thread, replaced after a trial that leaves its wasm heap above this
   *  many MiB (the heap never shrinks; the cap is 4 GiB) or leaks tensors. 0: a fresh thread for every trial. */
  TRAINER_RECYCLE_HEAP_MB: int(0, 1024),
  /** "auto": on the wasm backend, compute matrix products with OpenBLAS when the optional native addon and the library
   *  are installed (3–4× faster products); "off": always the wasm backend's own XNNPACK. */
  NATIVE_BLAS: z.enum(["auto", "off"]).default("auto"),
  /** A BLAS shared library (exporting cblas_sgemm) to use instead of looking up OpenBLAS. */
  NATIVE_BLAS_LIBRARY: optional(z.string()),
  /** Log level of every process (fatal, error, warn, info, debug, trace, silent). */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof configSchema>;

/** Raised when a setting is invalid; the process entry points print its message and exit non-zero. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid setting ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}
