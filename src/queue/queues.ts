/**
 * The two BullMQ queues and their job payloads. Redis only carries work: every job names a row in PostgreSQL,
 * which holds the truth, so a lost job is recreated from the database by the orchestrator's reconciler.
 *
 *   advance  {searchId}  → orchestrator: tell the strategy what finished, ask for new trials, enqueue them.
 *                          Deduplicated per search (at most one waiting and one active), so advances of one
 *                          search never run in parallel and a completion during an advance is never lost.
 *   trials   {trialId}   → trainer: evaluate one trial. The job id is the trial id, so a trial is queued once.
 *   trials-gpu {trialId} → GPU trainers only (they take `trials` too): GPU-sized trials (supernet jobs, and trials
 *                          whose estimated FLOPs reach GPU_TRIAL_MIN_FLOPS; `isGpuSized`) go here while a GPU
 *                          trainer has announced itself (a heartbeat key), and to `trials` otherwise.
 *   retrain  {modelId}   → trainer: retrain a search's best architecture into a model (src/trainer/retrain.ts). The
 *                          job id is the model id.
 *   inference {modelId, op, input} → trainer: generate, sample or score with a ready model (src/trainer/inference.ts);
 *                          the API waits for the answer (QueueEvents), up to INFERENCE_TIMEOUT_MS.
 */
import { DelayedError, Queue, QueueEvents, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config.js";
import { infraService } from "../core/errors.js";
import { infraBackoff, type Outage, type Outages } from "../core/infra.js";

/** The settings the queues read (job options live in src/config.ts, like every setting). */
export type QueueConfig = Pick<
  Config,
  "QUEUE_PREFIX" | "TRIAL_ATTEMPTS" | "TRIAL_BACKOFF_MS" | "TRIAL_FAILED_JOBS_KEPT" | "ADVANCE_ATTEMPTS" | "ADVANCE_BACKOFF_MS" | "ADVANCE_FAILED_JOBS_KEPT"
> & Partial<Pick<Config, "GPU_TRIAL_MIN_FLOPS">>;

/** A trial as the queues route it: supernet jobs, and trials whose estimated training FLOPs reach the setting. */
export interface RoutedTrial {
  id: string;
  kind?: string;
  /** Estimated training FLOPs (src/catalogue/cost.ts), when known. */
  flops?: number;
}

/**
 * GPU-sized: a supernet job, or a trial whose estimated training FLOPs reach GPU_TRIAL_MIN_FLOPS (> 0). While a GPU
 * trainer is alive these go to `trials-gpu`, which CPU trainers do not consume; otherwise to `trials` (a search must
 * not wait for a GPU that is not there).
 */
export function isGpuSized(trial: RoutedTrial, minFlops: number | undefined): boolean {
  if (trial.kind === "supernet") return true;
  return minFlops !== undefined && minFlops > 0 && trial.flops !== undefined && trial.flops >= minFlops;
}

export const ADVANCE_QUEUE = "advance";
export const TRIALS_QUEUE = "trials";
export const GPU_TRIALS_QUEUE = "trials-gpu";
export const RETRAIN_QUEUE = "retrain";
export const INFERENCE_QUEUE = "inference";
/** A GPU trainer refreshes its heartbeat key this often; the key lives three times as long. */
export const GPU_HEARTBEAT_S = 20;
/** BullMQ's largest job priority. */
const MAX_PRIORITY = 2 ** 21 - 1;

export const advanceJobSchema = z.object({
  searchId: z.string().uuid(),
  /** Set while the advance is delayed by an outage of PostgreSQL or Redis: since when, and how many delays so far. */
  infraRetry: z.object({ since: z.number(), n: z.number().int() }).optional(),
});
export const trialJobSchema = z.object({
  trialId: z.string().uuid(),
  /** The job's stall count (BullMQ's stalledCounter) when an attempt of it last ended with its trainer alive: the
   *  stalls since are deaths of its trainers in a row (MAX_STALLED_COUNT). */
  stalledBase: z.number().int().optional(),
});
export type AdvanceJob = z.infer<typeof advanceJobSchema>;
export type TrialJob = z.infer<typeof trialJobSchema>;
export const retrainJobSchema = z.object({ modelId: z.string().uuid() });
export type RetrainJob = z.infer<typeof retrainJobSchema>;
export const inferenceJobSchema = z.object({
  modelId: z.string().uuid(),
  op: z.enum(["generate", "sample", "log-prob"]),
  /** The request's body as the API validated it. */
  input: z.record(z.string(), z.unknown()),
});
export type InferenceJob = z.infer<typeof inferenceJobSchema>;
/** A trainer's answer to an inference job: the result, or why the request cannot be answered (a 400). */
export type InferenceAnswer = { ok: true; result: Record<string, unknown> } | { ok: false; error: string };

/** An inference job no trainer answered within the API's wait (INFERENCE_TIMEOUT_MS). */
export class InferenceTimeout extends Error {
  override name = "InferenceTimeout";
}

/**
 * A Redis connection as BullMQ workers need it (blocking commands must not be retried by ioredis). While Redis is
 * unreachable, commands wait for it to come back (ioredis queues them and reconnects). The connection always has an
 * `error` listener (an unhandled `error` event would end the process): the outage's, which logs it once.
 */
export function createRedis(url: string, outage?: Outage): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  redis.on("error", (err) => outage?.failed(err));
  redis.on("ready", () => outage?.ok());
  return redis;
}

/**
 * Hands a job in hand back to its queue to run again after `delayMs`, without counting an attempt (BullMQ's
 * moveToDelayed + DelayedError): what a worker does with work that met an outage. Throws the DelayedError the
 * processor must throw. If the job cannot be moved (Redis gone, the job lost with it, or taken by another worker),
 * it is left as it is: its lock expires and the stalled-job check or the reconciler brings it back.
 */
export async function retryLater(job: Job, token: string | undefined, delayMs: number, maxWaitMs: number): Promise<never> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    job.moveToDelayed(Date.now() + delayMs, token).catch(() => {}),
    new Promise((resolve) => (timer = setTimeout(resolve, maxWaitMs))),
  ]);
  clearTimeout(timer);
  throw new DelayedError(`retried in ${delayMs} ms: PostgreSQL or Redis unavailable`);
}

/** Fails with a one-line reason when Redis cannot be reached. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis unreachable at ${url}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

/**
 * What a job processor does with an error that says PostgreSQL or Redis is unavailable (`isInfraError`): the job is
 * delayed with backoff and run again (BullMQ's attempts untouched), for up to `maxMs` since its first such failure
 * (its data records since when); past that, and for any other error, the error is thrown as it is.
 */
export async function delayOnOutage<T extends { infraRetry?: { since: number; n: number } }>(
  job: Job<T>,
  token: string | undefined,
  err: unknown,
  opts: { maxMs: number; outages?: Outages },
): Promise<never> {
  const service = infraService(err);
  if (!service) throw err;
  if (opts.outages) (service === "Redis" ? opts.outages.redis : opts.outages.postgres).failed(err);
  const retry = job.data.infraRetry ?? { since: Date.now(), n: 0 };
  if (Date.now() - retry.since > opts.maxMs) throw err;
  await job.updateData({ ...job.data, infraRetry: { since: retry.since, n: retry.n + 1 } }).catch(() => {});
  return retryLater(job, token, infraBackoff(retry.n), opts.maxMs);
}

export class Queues {
  readonly advance: Queue<AdvanceJob>;
  readonly trials: Queue<TrialJob>;
  readonly gpuTrials: Queue<TrialJob>;
  readonly retrain: Queue<RetrainJob>;
  readonly inference: Queue<InferenceJob>;
  private inferenceEvents?: QueueEvents;
  private inferenceConnection?: Redis;
  private readonly onError: (err: Error) => void;

  /** `onError`: what a queue's `error` event does (every queue has a listener: an unhandled one ends the process). */
  constructor(readonly connection: Redis, readonly config: QueueConfig, onError: (err: Error) => void = () => {}) {
    const prefix = config.QUEUE_PREFIX;
    this.advance = new Queue(ADVANCE_QUEUE, { connection, prefix });
    this.trials = new Queue(TRIALS_QUEUE, { connection, prefix });
    this.gpuTrials = new Queue(GPU_TRIALS_QUEUE, { connection, prefix });
    this.retrain = new Queue(RETRAIN_QUEUE, { connection, prefix });
    this.inference = new Queue(INFERENCE_QUEUE, { connection, prefix });
    for (const q of [this.advance, this.trials, this.gpuTrials, this.retrain, this.inference]) q.on("error", onError);
    this.onError = onError;
  }

  private markerKey(): string {
    return `${this.config.QUEUE_PREFIX}:reconciled`;
  }

  /** Marks this Redis as holding the queues the reconciler last rebuilt (see `queuesLost`). */
  async markQueues(): Promise<void> {
    await this.connection.set(this.markerKey(), String(Date.now()));
  }

  /** True when Redis lost the marker, so its queues with it: flushed, or restarted without persistence. */
  async queuesLost(): Promise<boolean> {
    return (await this.connection.exists(this.markerKey())) === 0;
  }

  private trainersKey(): string {
    return `${this.config.QUEUE_PREFIX}:trainers`;
  }

  /** Every trainer's heartbeat (call every GPU_HEARTBEAT_S seconds): its entry, scored by time, in one sorted set. */
  async trainerHeartbeat(worker: string, gpu: boolean): Promise<void> {
    await this.connection.zadd(this.trainersKey(), Date.now(), `${gpu ? "gpu" : "cpu"}:${worker}`);
  }

  /** A trainer that stops removes its entry (one killed outright ages out in three heartbeats). */
  async trainerGone(worker: string, gpu: boolean): Promise<void> {
    await this.connection.zrem(this.trainersKey(), `${gpu ? "gpu" : "cpu"}:${worker}`);
  }

  /** Trainers with a heartbeat in the last three GPU_HEARTBEAT_S (older entries are dropped), by kind. */
  async liveTrainers(): Promise<{ cpu: number; gpu: number }> {
    const key = this.trainersKey();
    const since = Date.now() - GPU_HEARTBEAT_S * 3000;
    await this.connection.zremrangebyscore(key, "-inf", `(${since}`);
    const members = await this.connection.zrange(key, 0, -1);
    const gpu = members.filter((m) => m.startsWith("gpu:")).length;
    return { cpu: members.length - gpu, gpu };
  }

  /**
   * A GPU trainer's heartbeat within the last three GPU_HEARTBEAT_S: one read of the trainers' sorted set (a SCAN
   * over the keyspace for per-trainer keys, as before, looked at only its first 1,000 keys, and a queue's jobs are
   * keys too, so it missed GPU trainers once Redis held a few hundred jobs).
   */
  async gpuTrainerPresent(): Promise<boolean> {
    const live = await this.connection.zrangebyscore(this.trainersKey(), Date.now() - GPU_HEARTBEAT_S * 3000, "+inf");
    return live.some((m) => m.startsWith("gpu:"));
  }

  /** The state of a trial's job in whichever trials queue holds it ("unknown" if none). */
  async trialJobState(trialId: string): Promise<string> {
    const state = await this.trials.getJobState(trialId);
    return state !== "unknown" ? state : this.gpuTrials.getJobState(trialId);
  }

  async trialJob(trialId: string) {
    return (await this.trials.getJob(trialId)) ?? (await this.gpuTrials.getJob(trialId));
  }

  /** Asks the orchestrator to advance a search (coalesced with any advance already waiting). */
  async enqueueAdvance(searchId: string): Promise<void> {
    const { ADVANCE_ATTEMPTS, ADVANCE_BACKOFF_MS, ADVANCE_FAILED_JOBS_KEPT } = this.config;
    await this.advance.add(
      "advance",
      { searchId },
      {
        deduplication: { id: searchId, keepLastIfActive: true },
        removeOnComplete: true,
        removeOnFail: ADVANCE_FAILED_JOBS_KEPT,
        attempts: ADVANCE_ATTEMPTS,
        backoff: { type: "exponential", delay: ADVANCE_BACKOFF_MS },
      },
    );
  }

  trialJobOptions(trialId: string): JobsOptions {
    return {
      jobId: trialId,
      attempts: this.config.TRIAL_ATTEMPTS,
      backoff: { type: "exponential", delay: this.config.TRIAL_BACKOFF_MS },
      removeOnComplete: true,
      removeOnFail: this.config.TRIAL_FAILED_JOBS_KEPT,
    };
  }

  /**
   * Enqueues trials; a GPU-sized one (`isGpuSized`) goes to the GPU queue when a GPU trainer is there to take it.
   *
   * Given the search they belong to, trials are queued by start-time fair queuing (Goyal et al. 1996), so that
   * searches take turns instead of the oldest search's backlog going first: each trial's BullMQ priority (lower
   * runs sooner) is one more than the larger of the search's previous trial's and the queue's head's. A search's
   * trials keep their order; a newly arrived search's first trial goes right behind the head. Priorities only grow
   * while the queue is never empty; past BullMQ's largest they stay there, and the queue is then FIFO.
   */
  async enqueueTrials(trials: ReadonlyArray<RoutedTrial>, searchId?: string): Promise<void> {
    if (trials.length === 0) return;
    const sized = trials.filter((t) => isGpuSized(t, this.config.GPU_TRIAL_MIN_FLOPS));
    const gpu = sized.length > 0 && (await this.gpuTrainerPresent());
    const toGpu = gpu ? sized : [];
    const toAny = trials.filter((t) => !toGpu.includes(t));
    const priorities = searchId && toAny.length ? await this.fairPriorities(searchId, toAny.length) : [];
    const job = (t: { id: string }, i: number, queued: readonly unknown[]) => ({
      name: "trial",
      data: { trialId: t.id },
      opts: { ...this.trialJobOptions(t.id), ...(queued === toAny && priorities[i] ? { priority: priorities[i] } : {}) },
    });
    if (toAny.length) await this.trials.addBulk(toAny.map((t, i) => job(t, i, toAny)));
    if (toGpu.length) await this.gpuTrials.addBulk(toGpu.map((t, i) => job(t, i, toGpu)));
  }

  private fairKey(): string {
    return `${this.config.QUEUE_PREFIX}:fair-queuing`;
  }

  /** The next `n` priorities of a search's trials (see enqueueTrials), recorded as the search's last. */
  private async fairPriorities(searchId: string, n: number): Promise<number[]> {
    // The head's priority from its score in BullMQ's prioritized set (priority · 2³² + a counter), in one round trip.
    const replies = await this.connection.multi().zrange(this.trials.keys.prioritized!, 0, 0, "WITHSCORES").hget(this.fairKey(), searchId).exec();
    const head = replies?.[0]?.[1] as string[] | undefined;
    const last = replies?.[1]?.[1] as string | null | undefined;
    const start = Math.max(head?.[1] ? Math.floor(Number(head[1]) / 2 ** 32) : 0, Number(last ?? 0));
    const out = Array.from({ length: n }, (_, i) => Math.min(start + i + 1, MAX_PRIORITY));
    await this.connection.hset(this.fairKey(), searchId, out.at(-1)!);
    return out;
  }

  /** Asks a trainer to retrain a model (the job id is the model's: it is queued once). */
  async enqueueRetrain(modelId: string): Promise<void> {
    await this.retrain.add(
      "retrain",
      { modelId },
      { jobId: modelId, attempts: this.config.TRIAL_ATTEMPTS, backoff: { type: "exponential", delay: this.config.TRIAL_BACKOFF_MS }, removeOnComplete: true, removeOnFail: this.config.TRIAL_FAILED_JOBS_KEPT },
    );
  }

  /** The state of a model's retrain job ("unknown" when Redis has none: the reconciler enqueues it again). */
  async retrainJobState(modelId: string): Promise<string> {
    return this.retrain.getJobState(modelId);
  }

  /**
   * Runs an inference job on a trainer and waits for its answer, at most `timeoutMs` (then InferenceTimeout, and the
   * job is withdrawn if no trainer has taken it). The answer is kept in Redis for a minute only.
   */
  async runInference(job: InferenceJob, timeoutMs: number): Promise<InferenceAnswer> {
    this.inferenceEvents ??= this.openInferenceEvents();
    await this.inferenceEvents.waitUntilReady();
    const added = await this.inference.add("inference", job, { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 60 } });
    try {
      return (await added.waitUntilFinished(this.inferenceEvents, timeoutMs)) as InferenceAnswer;
    } catch (err) {
      if (/timed out before finishing/.test((err as Error).message)) {
        await added.remove().catch(() => {}); // taken by a trainer meanwhile: it finishes, nobody waits
        throw new InferenceTimeout(`no trainer answered within INFERENCE_TIMEOUT_MS = ${timeoutMs} ms`);
      }
      throw err;
    }
  }

  private openInferenceEvents(): QueueEvents {
    // Its own connection: QueueEvents blocks on it (XREAD). Opened at the first inference request only.
    this.inferenceConnection = this.connection.duplicate();
    this.inferenceConnection.on("error", this.onError);
    const events = new QueueEvents(INFERENCE_QUEUE, { connection: this.inferenceConnection, prefix: this.config.QUEUE_PREFIX });
    events.on("error", this.onError);
    return events;
  }

  /** Forgets an ended search's place in the fair queue. */
  async forgetSearch(searchId: string): Promise<void> {
    await this.connection.hdel(this.fairKey(), searchId);
  }

  async close(): Promise<void> {
    await Promise.all([this.advance.close(), this.trials.close(), this.gpuTrials.close(), this.retrain.close(), this.inference.close(), this.inferenceEvents?.close()]);
    this.inferenceConnection?.disconnect();
  }
}
