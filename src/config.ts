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
  /** Milliseconds a request has to arrive whole (headers and body; 408 after), and a connection may stay silent. */
  API_REQUEST_TIMEOUT_MS: int(100, 30_000),
  /** "on": every /v1 route needs an API key (`Authorization: Bearer …`). "off": no keys, every request is an admin of
   *  the project "default" — for local experiments only (logged loudly at start). */
  AUTH: z.enum(["on", "off"]).default("on"),
  /** Seconds a verified API key is remembered by an API process (a revoked key stops working within this). */
  AUTH_CACHE_S: int(0, 10),
  /** Live events (GET /v1/searches/:id/events): how often, in ms, a stream looks for new events when no NOTIFY woke it
   *  (its fallback if the API's LISTEN connection to PostgreSQL is lost; normally events arrive at once). */
  EVENTS_POLL_MS: int(50, 1000),
  /** An admin key to create (or keep) at the API's start, for the first key of a deployment; `npm run keys` makes others. */
  API_ADMIN_KEY: optional(z.string().min(24, "an API key has at least 24 characters").regex(/^[\x21-\x7e]+$/, "an API key is printable ASCII without spaces")),
  /** The project of API_ADMIN_KEY. */
  API_ADMIN_PROJECT: z.string().min(1).max(100).default("default"),
  /** Requests an API key may make per minute, counted in Redis so the limit holds across API processes (requests
   *  without a key count per client IP); more: 429 with Retry-After. /healthz, /readyz and /metrics are exempt. 0: no limit. */
  RATE_LIMIT_PER_MINUTE: int(0, 1200),
  /** Origins browsers may call the API from (comma-separated, e.g. `https://a.example,https://b.example`; `*`: any).
   *  Empty: CORS off (no Access-Control-* headers: only same-origin pages can read answers). */
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.union([z.literal("*"), z.string().regex(/^https?:\/\/[^/\s,]+$/, "an origin is scheme://host[:port], without a path")]))),
  /** max-age of the Strict-Transport-Security header, in seconds (browsers honour it over HTTPS only). 0: no header. */
  HSTS_MAX_AGE_S: int(0, 15_552_000),
  /** How often the API pings PostgreSQL, in ms; while the ping fails, every route but /healthz, /readyz and /metrics
   *  answers 503 with Retry-After instead of trying the database. */
  DB_HEALTH_CHECK_MS: int(100, 2000),
  /** Load shedding: while the API's event loop lags more than this many ms, requests are answered 503 with
   *  Retry-After (health and metrics routes exempt). 0: off. */
  API_MAX_EVENT_LOOP_DELAY_MS: int(0, 0),
  /** A bearer token GET /metrics asks for (`Authorization: Bearer <token>`). Unset: /metrics is open (it exposes
   *  aggregate counts only, nothing of any project). */
  METRICS_TOKEN: optional(z.string().min(16, "a metrics token has at least 16 characters")),
  /** Quotas of a project: searches queued or running at once, and trials queued or running at once (shared fairly
   *  among its searches). */
  MAX_ACTIVE_SEARCHES_PER_PROJECT: int(1, 20),
  MAX_TRIALS_IN_FLIGHT_PER_PROJECT: int(1, 64),
  /** Bounds of a search's budget: budget.maxTrials and budget.maxParallel. */
  MAX_TRIALS_PER_SEARCH: int(1, 10_000),
  MAX_PARALLEL_PER_SEARCH: int(1, 64),
  /** Estimated training FLOPs a search may spend (the orchestrator stops proposing when the next trial would pass it). */
  MAX_TRAIN_FLOPS_PER_SEARCH: z.coerce.number().positive().default(1e17),
  /** Ceilings of one trial of the train evaluator, checked from the architecture and options before it is queued. */
  MAX_TRIAL_PARAMS: int(1, 50_000_000),
  MAX_TRIAL_STEPS: int(1, 100_000),
  MAX_TRIAL_TOKENS_PER_STEP: int(1, 262_144),
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
  /** How long a worker's job lock lasts without renewal; a killed trainer's trial (or orchestrator's advance) is run
   *  again after about this long. */
  JOB_LOCK_MS: int(1000, 30_000),
  /** How often workers look for stalled jobs (of killed workers). */
  STALLED_INTERVAL_MS: int(500, 30_000),
  /** How many times in a row a trial may lose its trainer (its job stalls: the trainer died, or lost its job's lock)
   *  and be run again; the next time it fails, saying so. BullMQ itself re-runs stalled jobs without limit. */
  MAX_STALLED_COUNT: int(0, 2),
  /** Attempts a trial gets when its evaluation throws a retryable error (PostgreSQL or Redis being unreachable never
   *  counts: see INFRA_RETRY_MAX_S). */
  TRIAL_ATTEMPTS: int(1, 3),
  /** Longest evaluation of one trial, in seconds (the `benchmark` evaluator's latencyMs included); a trial over it
   *  fails (TrialTimeout, not retried) and its training thread is terminated. 0: no limit. */
  TRIAL_TIMEOUT_S: z.coerce.number().min(0).default(21_600),
  /** Trials of a `train` search whose trained weights are kept (the best by objective; the others' are deleted as
   *  better ones complete). 0: none. */
  SEARCH_KEEP_TOP_K: int(0, 3),
  /** How long the API waits for a trainer to answer an inference request (generate, sample, log-prob) before it
   *  answers 504. */
  INFERENCE_TIMEOUT_MS: int(100, 30_000),
  /** Largest dataset upload (POST /v1/datasets), in bytes, counted while the body streams in (413 past it). The body
   *  must still arrive within API_REQUEST_TIMEOUT_MS: raise that for large files. */
  DATASET_MAX_BYTES: int(1, 256 * 2 ** 20),
  /** Where trainers keep the datasets they read from their store (PostgreSQL or S3), one file per content hash
   *  (read again only when missing). Default: the OS temporary folder's `nas-datasets`. */
  DATASET_CACHE_DIR: optional(z.string().min(1)),
  /** Where new dataset uploads keep their bytes: `postgres` (chunks in the database, the default) or `s3` (one object
   *  per content hash in an S3-compatible store: S3_ENDPOINT, S3_BUCKET). Each dataset remembers its store, so a
   *  switch does not orphan the old ones; every process that reads them needs the S3 settings while any is in S3. */
  DATASET_STORE: z.enum(["postgres", "s3"]).default("postgres"),
  /** The S3-compatible store's URL (MinIO: http://minio:9000). Needed for DATASET_STORE=s3. */
  S3_ENDPOINT: optional(z.string().url()),
  /** The bucket of dataset objects (`datasets/<sha256>`), created on the first upload when missing. Needed for DATASET_STORE=s3. */
  S3_BUCKET: optional(z.string().min(3).max(63)),
  /** The S3 region (MinIO ignores it). */
  S3_REGION: z.string().min(1).default("us-east-1"),
  /** Access key of the S3 store; unset: the AWS SDK's default credentials (environment, profile, instance role). */
  S3_ACCESS_KEY_ID: optional(z.string().min(1)),
  /** Secret key of the S3 store (with S3_ACCESS_KEY_ID). */
  S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO and most S3-compatible servers want; `false`: virtual-hosted style. */
  S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("true"),
  /** How long a process retries a statement or queue call of work in hand while PostgreSQL or Redis is unreachable
   *  (exponential backoff up to 3 s), before handing the work back to be retried later (never failing it). */
  INFRA_RETRY_MAX_S: int(1, 300),
  /** First wait before a trial's retry, in ms; doubled at every further attempt (BullMQ exponential backoff). */
  TRIAL_BACKOFF_MS: int(0, 1000),
  /** Failed trial jobs kept in Redis for inspection (the trial's error is in PostgreSQL either way). */
  TRIAL_FAILED_JOBS_KEPT: int(0, 10_000),
  /** Attempts of an advance job whose run fails (an outage of PostgreSQL or Redis does not count: the job is delayed). */
  ADVANCE_ATTEMPTS: int(1, 3),
  /** First wait before an advance's retry, in ms; doubled at every further attempt. */
  ADVANCE_BACKOFF_MS: int(0, 500),
  /** Failed advance jobs kept in Redis for inspection. */
  ADVANCE_FAILED_JOBS_KEPT: int(0, 1000),
  /** Seconds the orchestrator waits between reconciliation sweeps (re-enqueue lost work from PostgreSQL). */
  RECONCILE_INTERVAL_S: int(1, 30),
  /** Force one tfjs backend (tensorflow-gpu, tensorflow, webgpu, wasm, cpu); by default the fastest that loads. */
  TFJS_BACKEND: optional(z.enum(["tensorflow-gpu", "tensorflow", "webgpu", "wasm", "cpu"])),
  /** A trainer runs `train` trials in a worker thread, replaced after a trial that leaves its wasm heap above this
   *  many MiB (the heap never shrinks; the cap is 4 GiB) or leaks tensors. 0: a fresh thread for every trial. */
  TRAINER_RECYCLE_HEAP_MB: int(0, 1024),
  /** A Transformer trial whose estimated training memory (activations + weights and optimizer state, MiB;
   *  src/models/transformer/memory.ts) is over this trains with micro-batches or recomputation, chosen by the trainer
   *  and recorded in its metrics; a trial that fits no plan fails with the reason. 0: no limit. */
  TRAIN_MEMORY_LIMIT_MB: z.coerce.number().min(0).default(2048),
  /** "auto": on the wasm backend, compute matrix products with OpenBLAS when the optional native addon and the library
   *  are installed (3–4× faster products); "off": always the wasm backend's own XNNPACK. */
  NATIVE_BLAS: z.enum(["auto", "off"]).default("auto"),
  /** A BLAS shared library (exporting cblas_sgemm) to use instead of looking up OpenBLAS. */
  NATIVE_BLAS_LIBRARY: optional(z.string()),
  /** "off": never load the optional native addon (native/blas: OpenBLAS products and the fused training kernels), as
   *  on a machine where it could not be built; "auto": use it where it is built. Read by src/models/native-*.ts. */
  NAS_NATIVE: z.enum(["auto", "off"]).default("auto"),
  /** Trials whose estimated training FLOPs (src/catalogue/cost.ts) reach this go to the `trials-gpu` queue while a GPU
   *  trainer is alive (CPU trainers then never take them); 0: only supernet jobs go there. */
  GPU_TRIAL_MIN_FLOPS: z.coerce.number().min(0).default(1e13),
  /** Log level of every process (fatal, error, warn, info, debug, trace, silent). */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
}).superRefine((c, ctx) => {
  // The object store's settings are checked at start, not at the first upload.
  if (c.DATASET_STORE !== "s3") return;
  for (const name of ["S3_ENDPOINT", "S3_BUCKET"] as const) {
    if (!c[name]) ctx.addIssue({ code: "custom", path: [name], message: `DATASET_STORE=s3 needs ${name} (the S3-compatible store's ${name === "S3_ENDPOINT" ? "URL" : "bucket"})` });
  }
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY)) ctx.addIssue({ code: "custom", path: ["S3_SECRET_ACCESS_KEY"], message: "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither" });
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
