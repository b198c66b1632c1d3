/**
 * The service's three processes as factories: `startApi(config)`, `startOrchestrator(config)` and
 * `startTrainer(config)` check what they depend on, start, and return a handle whose `close()` drains and
 * disconnects. `workers/*.ts` (what `npm run start:*` runs) are a few lines over these, and tests, the demo and the
 * benchmarks start processes the same way (in this process, or as `workers/*.ts` children).
 *
 * The API must not load tfjs or native code (it only validates and stores), so the orchestrator's and trainer's
 * implementations are imported when those start, never at the top of this module.
 */
import { hostname } from "node:os";
import { Worker, type Job } from "bullmq";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./api/app.js";
import { SpaceRegistry } from "./catalogue/index.js";
import { loadConfig, type Config } from "./config.js";
import { infraService, isInfraError } from "./core/errors.js";
import { createOutages, type Outages } from "./core/infra.js";
import { checkDb, createDb, type Db } from "./db/client.js";
import { createKey, ensureProject } from "./db/projects.js";
import { createLogger, type Logger } from "./logger.js";
import { removeHeartbeat, writeHeartbeat, type WorkerHeartbeat } from "./queue/heartbeats.js";
import {
  ADVANCE_QUEUE,
  checkRedis,
  createRedis,
  delayOnOutage,
  GPU_HEARTBEAT_S,
  GPU_TRIALS_QUEUE,
  INFERENCE_QUEUE,
  Queues,
  RETRAIN_QUEUE,
  TRIALS_QUEUE,
  type AdvanceJob,
  type InferenceJob,
  type RetrainJob,
  type TrialJob,
} from "./queue/queues.js";

export type ProcessName = "api" | "orchestrator" | "trainer";

export interface ProcessHandle {
  readonly name: ProcessName;
  readonly log: Logger;
  /** Stops taking work, finishes what is in hand, disconnects. Idempotent. */
  close(): Promise<void>;
}

export interface ApiHandle extends ProcessHandle {
  readonly app: FastifyInstance;
  /** Where it listens, e.g. http://127.0.0.1:3000 (undefined with `listen: false`). */
  readonly url?: string;
}

export interface OrchestratorHandle extends ProcessHandle {
  /** Runs one reconciliation sweep now (the process also runs one every RECONCILE_INTERVAL_S). */
  reconcileNow(): Promise<{ searches: number; requeued: number; failed: number }>;
}

export interface TrainerHandle extends ProcessHandle {
  readonly workerName: string;
  /** The tfjs backend, as the trainer's log line and its trials' metrics name it (e.g. "wasm+openblas"). */
  readonly backend: string;
  readonly gpu: boolean;
}

/** A reason a process cannot start, in one line (the entry points print it after the process name and exit 1). */
export class StartupError extends Error {
  override name = "StartupError";
}

/** What every process shares: settings, logger, search spaces, PostgreSQL and Redis, checked before anything starts. */
interface Runtime {
  config: Config;
  log: Logger;
  spaces: SpaceRegistry;
  db: Db;
  queues: Queues;
  /** PostgreSQL's and Redis' availability as this process sees it: each outage is logged once (core/infra.ts). */
  outages: Outages;
  /** Logs an error event of a connection, queue or worker: an outage once, anything else each time. */
  onError(what: string): (err: Error) => void;
  /** Disconnects PostgreSQL and Redis. */
  disconnect(): Promise<void>;
}

async function openRuntime(name: ProcessName, config: Config, opts: { logger?: Logger; dbPoolSize?: number } = {}): Promise<Runtime> {
  const log = opts.logger ?? createLogger(name, config.LOG_LEVEL);
  let spaces: SpaceRegistry;
  try {
    spaces = SpaceRegistry.fromDirectory(config.SEARCH_SPACES_DIR);
  } catch (err) {
    throw new StartupError(`cannot load search spaces from ${config.SEARCH_SPACES_DIR}: ${(err as Error).message}`);
  }
  try {
    await checkDb(config.DATABASE_URL);
    await checkRedis(config.REDIS_URL);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
  // A dropped connection fails the statement that used it (its caller retries or reports); the process lives on.
  // Every pg client, ioredis connection, BullMQ queue and worker has an `error` listener (an unhandled `error` event
  // ends a process); an outage is logged once, when it starts and when it ends.
  const outages = createOutages(log);
  const onError = (what: string) => (err: Error) => {
    if (isInfraError(err)) outages.redis.failed(err);
    // A job Redis no longer has (flushed, restarted empty) or that another worker took over (its lock expired): the
    // work is in PostgreSQL, and the reconciler or the other worker has it.
    else if (/^(Missing (lock|key) for job|Lock mismatch for job)/.test(err.message)) log.warn({ err: err.message }, "a job in hand was lost by Redis or taken over");
    else log.error({ err: err.message }, `${what} error`);
  };
  const db = createDb(config.DATABASE_URL, opts.dbPoolSize, outages.postgres);
  const redis = createRedis(config.REDIS_URL, outages.redis);
  const queues = new Queues(redis, config, onError("queue"));
  return {
    config,
    log,
    spaces,
    db,
    queues,
    outages,
    onError,
    async disconnect() {
      await queues.close();
      redis.disconnect();
      await db.$disconnect();
    },
  };
}

/** How often the orchestrator checks that Redis still holds its queues (a flush is answered within about this long). */
const LOST_QUEUES_CHECK_MS = 1000;

/**
 * An advance processor that outlasts outages: an advance that fails because PostgreSQL or Redis is unavailable is
 * delayed and run again with backoff (no BullMQ attempt counted) for up to INFRA_RETRY_MAX_S; then it fails as any
 * error does, and the reconciler advances every active search again anyway.
 */
function outlast(config: Config, outages: Outages, fn: (job: Job<AdvanceJob>) => Promise<number>): (job: Job<AdvanceJob>, token?: string) => Promise<number> {
  return async (job, token) => {
    try {
      return await fn(job);
    } catch (err) {
      return delayOnOutage(job, token, err, { maxMs: config.INFRA_RETRY_MAX_S * 1000, outages });
    }
  };
}

/** Wraps a close function so that it runs once, whoever calls it how often. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= fn());
}

/** The REST API. `listen: false` builds the app for `app.inject` (in-process tests) without opening a port. */
export async function startApi(config: Config, opts: { listen?: boolean; logger?: boolean } = {}): Promise<ApiHandle> {
  const rt = await openRuntime("api", config);
  // The first key of a deployment can come from the environment (kept, not duplicated, on every start).
  if (config.API_ADMIN_KEY) await createKey(rt.db, (await ensureProject(rt.db, config.API_ADMIN_PROJECT)).id, "admin", { key: config.API_ADMIN_KEY, name: "API_ADMIN_KEY" });
  const app = await buildApp({ db: rt.db, queues: rt.queues, redis: rt.queues.connection, spaces: rt.spaces, config }, { logger: opts.logger });
  let url: string | undefined;
  if (opts.listen !== false) {
    try {
      await app.listen({ port: config.PORT, host: config.HOST });
    } catch (err) {
      await rt.disconnect();
      throw new StartupError(`cannot listen on ${config.HOST}:${config.PORT}: ${(err as Error).message}`);
    }
    const address = app.server.address();
    url = `http://${config.HOST}:${typeof address === "object" && address ? address.port : config.PORT}`;
  }
  return {
    name: "api",
    log: rt.log,
    app,
    url,
    close: once(async () => {
      await app.close();
      await rt.disconnect();
    }),
  };
}

/** The orchestrator: advances searches (the only caller of strategies and schedulers) and reconciles Redis with PostgreSQL. */
export async function startOrchestrator(config: Config): Promise<OrchestratorHandle> {
  const rt = await openRuntime("orchestrator", config);
  const { advanceSearch } = await import("./orchestrator/advance.js");
  const { reconcile } = await import("./orchestrator/reconcile.js");
  const { db, spaces, queues, log, outages } = rt;
  const worker = new Worker<AdvanceJob>(
    ADVANCE_QUEUE,
    // An advance that meets an outage is delayed and run again (its attempts untouched) until the service is back.
    outlast(config, outages, async (job) => {
      const outcome = await advanceSearch(db, spaces, job.data.searchId, config);
      await queues.enqueueTrials(outcome.created, job.data.searchId);
      for (const id of outcome.wake) await queues.enqueueAdvance(id);
      if (outcome.status !== "running") {
        await queues.forgetSearch(job.data.searchId);
        log.info({ searchId: job.data.searchId, status: outcome.status }, "search finished");
      }
      return outcome.created.length;
    }),
    {
      connection: createRedis(config.REDIS_URL, outages.redis),
      prefix: config.QUEUE_PREFIX,
      concurrency: config.ORCHESTRATOR_CONCURRENCY,
      // An advance killed with its orchestrator holds its search's deduplication key until the stalled-job check
      // brings it back: the same lock as trials', so that a restarted orchestrator picks it up within about JOB_LOCK_MS.
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
    },
  );
  worker.on("failed", (job, err) => log.error({ searchId: job?.data.searchId, err: err.message }, "advance failed"));
  worker.on("error", rt.onError("worker"));

  // A sweep that meets an outage is simply the next one's to do (every RECONCILE_INTERVAL_S, or at once when Redis
  // is seen to have lost its queues); the outage is logged once.
  let sweeping: Promise<unknown> = Promise.resolve();
  const reconcileNow = () => {
    const sweep = reconcile(db, queues);
    sweeping = sweep.then(
      (r) => (r.requeued || r.failed ? log.warn(r, "reconciled lost work") : undefined),
      (err: unknown) => (isInfraError(err) ? (infraService(err) === "Redis" ? outages.redis : outages.postgres).failed(err) : log.error({ err: String(err) }, "reconcile failed")),
    );
    return sweep;
  };
  void reconcileNow().catch(() => {});
  const timer = setInterval(() => void reconcileNow().catch(() => {}), config.RECONCILE_INTERVAL_S * 1000);
  // Redis flushed or restarted empty: its queues are rebuilt from PostgreSQL now, not at the next sweep.
  let checking = false;
  const lostCheck = setInterval(() => {
    if (checking) return;
    checking = true;
    queues
      .queuesLost()
      .then((lost) => {
        if (!lost) return;
        log.warn("Redis lost its queues (flushed, or restarted empty): rebuilding them from PostgreSQL");
        return sweeping.then(() => reconcileNow());
      })
      .catch(() => {})
      .finally(() => (checking = false));
  }, LOST_QUEUES_CHECK_MS);
  log.info({ concurrency: config.ORCHESTRATOR_CONCURRENCY }, "orchestrator ready");
  return {
    name: "orchestrator",
    log,
    reconcileNow,
    close: once(async () => {
      clearInterval(timer);
      clearInterval(lostCheck);
      await sweeping;
      await worker.close();
      await rt.disconnect();
    }),
  };
}

/**
 * A trainer: evaluates trials from the `trials` queue (and, on a GPU backend, the `trials-gpu` queue of supernet
 * jobs). `close()` finishes the trials in hand (new ones are not taken); a trainer killed outright loses nothing:
 * BullMQ's stalled-job check hands its trials to another trainer after JOB_LOCK_MS.
 */
export async function startTrainer(config: Config): Promise<TrainerHandle> {
  const rt = await openRuntime("trainer", config);
  const { log, queues } = rt;
  const { backendDevice, backendLabel, GPU_BACKENDS, initBackend } = await import("./models/backend.js");
  const { TrialRunner } = await import("./trainer/trial-runner.js");
  let backend;
  try {
    backend = await initBackend({ force: config.TFJS_BACKEND, nativeBlas: config.NATIVE_BLAS, nativeBlasLibrary: config.NATIVE_BLAS_LIBRARY });
  } catch (err) {
    await rt.disconnect();
    throw new StartupError((err as Error).message);
  }
  const workerName = config.WORKER_NAME ?? `${hostname()}:${process.pid}`;
  // The backend is stored with every trial this trainer starts (a search shows the mix of its trials' backends).
  const runner = new TrialRunner({ ...rt, workerName, backend: backendLabel(), log: (msg, extra) => log.info(extra ?? {}, msg), debug: (msg, extra) => log.debug(extra ?? {}, msg) });
  // Worker deaths (README, "Faults"): BullMQ re-runs a stalled job without limit (maxStalledCount: never fail it);
  // the runner fails a trial whose trainer died more than MAX_STALLED_COUNT times in a row, saying so.
  // The backend decides which queues this trainer serves: a GPU trainer also takes the GPU queue (supernet jobs).
  const gpu = GPU_BACKENDS.includes(backend);
  // The trials in hand, for the heartbeat (GET /v1/workers shows the first), refreshed as each starts and ends.
  const inHand: string[] = [];
  let announce: () => Promise<unknown> = async () => {};
  const processTrial = async (job: Job<TrialJob>, token?: string) => {
    inHand.push(job.data.trialId);
    void announce();
    try {
      return await runner.process(job, token);
    } finally {
      inHand.splice(inHand.indexOf(job.data.trialId), 1);
      void announce();
    }
  };
  const workers = [TRIALS_QUEUE, ...(gpu ? [GPU_TRIALS_QUEUE] : [])].map((queue) => {
    const worker = new Worker<TrialJob>(queue, processTrial, {
      connection: createRedis(config.REDIS_URL, rt.outages.redis),
      prefix: config.QUEUE_PREFIX,
      concurrency: config.TRAINER_CONCURRENCY,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    });
    worker.on("failed", (job, err) => {
      log.warn({ trialId: job?.data.trialId, err: err.message }, "trial job failed");
      runner.onJobFailed(job, err).catch((e: unknown) => log.error({ err: String(e) }, "could not record a failed job"));
    });
    worker.on("error", rt.onError("worker"));
    return worker;
  });
  // Models: retrain jobs (long, like trials) and inference jobs (short: their own worker, so that a request is not
  // held behind a training in hand). Both are served by every trainer.
  const { RetrainRunner } = await import("./trainer/retrain.js");
  const { InferenceServer } = await import("./trainer/inference.js");
  const retrain = new RetrainRunner({ ...rt, workerName, log: (msg, extra) => log.info(extra ?? {}, msg) });
  const inference = new InferenceServer({ db: rt.db, log: (msg, extra) => log.info(extra ?? {}, msg) });
  const modelWorkers = [
    new Worker<RetrainJob>(RETRAIN_QUEUE, (job) => retrain.process(job), {
      connection: createRedis(config.REDIS_URL, rt.outages.redis),
      prefix: config.QUEUE_PREFIX,
      concurrency: 1,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    }).on("failed", (job, err) => {
      log.warn({ modelId: job?.data.modelId, err: err.message }, "retrain job failed");
      retrain.onJobFailed(job, err).catch((e: unknown) => log.error({ err: String(e) }, "could not record a failed retrain"));
    }),
    new Worker<InferenceJob>(INFERENCE_QUEUE, (job) => inference.process(job), { connection: createRedis(config.REDIS_URL, rt.outages.redis), prefix: config.QUEUE_PREFIX, concurrency: 1 }),
  ];
  for (const w of modelWorkers) w.on("error", rt.onError("worker"));
  // Every trainer's heartbeat (counted by the API's /metrics, listed by GET /v1/workers); a GPU trainer's also
  // routes GPU-sized trials to it.
  const label = backendLabel();
  const device = backendDevice();
  const startedAt = new Date().toISOString();
  const describe = (): Omit<WorkerHeartbeat, "lastSeenAt"> => ({
    id: workerName, kind: "trainer", queue: gpu ? GPU_TRIALS_QUEUE : TRIALS_QUEUE, backend: label, device, pid: process.pid, host: hostname(), startedAt, running: inHand[0] ?? null,
  });
  announce = () =>
    Promise.all([
      queues.trainerHeartbeat(workerName, gpu),
      writeHeartbeat(queues.connection, config.QUEUE_PREFIX, describe()),
    ]).catch((err: unknown) =>
      isInfraError(err) ? rt.outages.redis.failed(err) : log.warn({ err: String(err) }, "trainer heartbeat failed"),
    );
  const heartbeat = setInterval(announce, GPU_HEARTBEAT_S * 1000);
  await announce();
  log.info({ worker: workerName, concurrency: config.TRAINER_CONCURRENCY, backend: label, device, gpu, queue: describe().queue }, "trainer ready");
  return {
    name: "trainer",
    log,
    workerName,
    backend: label,
    gpu,
    close: once(async () => {
      clearInterval(heartbeat);
      await Promise.all([...workers, ...modelWorkers].map((w) => w.close())); // waits for the jobs in hand
      // Best effort, never holding the shutdown while Redis is away (the entry ages out by itself).
      announce = async () => {};
      await Promise.race([
        Promise.all([queues.trainerGone(workerName, gpu), removeHeartbeat(queues.connection, config.QUEUE_PREFIX, workerName)]).catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      await runner.close();
      await retrain.close();
      inference.close();
      await rt.disconnect();
    }),
  };
}

const STARTERS: Record<ProcessName, (config: Config) => Promise<ProcessHandle>> = { api: startApi, orchestrator: startOrchestrator, trainer: startTrainer };

/**
 * The body of `workers/<name>.ts`: settings from the environment, start, and on SIGTERM/SIGINT a graceful close
 * (a second signal exits at once). A bad setting or a missing dependency exits 1 with one line naming it. The signal
 * handlers are installed before the start: a trainer takes jobs before it has finished starting, and a SIGTERM in
 * that window would otherwise kill it with the job in hand; such a signal closes it as soon as it is up.
 */
export async function runProcess(name: ProcessName): Promise<ProcessHandle> {
  let handle: ProcessHandle | undefined;
  let stopping: string | undefined;
  const drain = (h: ProcessHandle, signal: string) => {
    h.log.info({ signal }, "shutting down: draining");
    h.close().then(
      () => process.exit(0),
      (err: unknown) => {
        h.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = signal;
    if (handle) drain(handle, signal);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    handle = await STARTERS[name](loadConfig());
  } catch (err) {
    if (err instanceof StartupError || (err as Error).name === "ConfigError") die(name, (err as Error).message);
    throw err;
  }
  if (stopping) drain(handle, stopping);
  return handle;
}

function die(name: string, reason: string): never {
  process.stderr.write(`${name}: ${reason}\n`);
  process.exit(1);
}
