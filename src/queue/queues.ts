/**
 * The two BullMQ queues and their job payloads. Redis only carries work: every job names a row in PostgreSQL,
 * which holds the truth, so a lost job is recreated from the database by the orchestrator's reconciler.
 *
 *   advance  {searchId}  → orchestrator: tell the strategy what finished, ask for new trials, enqueue them.
 *                          Deduplicated per search (at most one waiting and one active), so advances of one
 *                          search never run in parallel and a completion during an advance is never lost.
 *   trials   {trialId}   → trainer: evaluate one trial. The job id is the trial id, so a trial is queued once.
 *   trials-gpu {trialId} → GPU trainers only (they take `trials` too): one-shot supernet jobs go here while a GPU
 *                          trainer has announced itself (a heartbeat key), and to `trials` otherwise.
 */
import { Queue, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config.js";

/** The settings the queues read (job options live in src/config.ts, like every setting). */
export type QueueConfig = Pick<
  Config,
  "QUEUE_PREFIX" | "TRIAL_ATTEMPTS" | "TRIAL_BACKOFF_MS" | "TRIAL_FAILED_JOBS_KEPT" | "ADVANCE_ATTEMPTS" | "ADVANCE_BACKOFF_MS" | "ADVANCE_FAILED_JOBS_KEPT"
>;

export const ADVANCE_QUEUE = "advance";
export const TRIALS_QUEUE = "trials";
export const GPU_TRIALS_QUEUE = "trials-gpu";
/** A GPU trainer refreshes its heartbeat key this often; the key lives three times as long. */
export const GPU_HEARTBEAT_S = 20;

export const advanceJobSchema = z.object({ searchId: z.string().uuid() });
export const trialJobSchema = z.object({ trialId: z.string().uuid() });
export type AdvanceJob = z.infer<typeof advanceJobSchema>;
export type TrialJob = z.infer<typeof trialJobSchema>;

/** A Redis connection as BullMQ workers need it (blocking commands must not be retried by ioredis). */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
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

export class Queues {
  readonly advance: Queue<AdvanceJob>;
  readonly trials: Queue<TrialJob>;
  readonly gpuTrials: Queue<TrialJob>;

  constructor(readonly connection: Redis, readonly config: QueueConfig) {
    const prefix = config.QUEUE_PREFIX;
    this.advance = new Queue(ADVANCE_QUEUE, { connection, prefix });
    this.trials = new Queue(TRIALS_QUEUE, { connection, prefix });
    this.gpuTrials = new Queue(GPU_TRIALS_QUEUE, { connection, prefix });
  }

  private gpuKey(worker = "*"): string {
    return `${this.config.QUEUE_PREFIX}:gpu-trainers:${worker}`;
  }

  /** A trainer with a GPU backend announces itself (call every GPU_HEARTBEAT_S seconds). */
  async announceGpuTrainer(worker: string): Promise<void> {
    await this.connection.set(this.gpuKey(worker), "1", "EX", GPU_HEARTBEAT_S * 3);
  }

  async gpuTrainerPresent(): Promise<boolean> {
    const [, keys] = await this.connection.scan("0", "MATCH", this.gpuKey(), "COUNT", 1000);
    return keys.length > 0;
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

  /** Enqueues trials; a supernet job goes to the GPU queue when a GPU trainer is there to take it. */
  async enqueueTrials(trials: ReadonlyArray<{ id: string; kind?: string }>): Promise<void> {
    if (trials.length === 0) return;
    const gpu = trials.some((t) => t.kind === "supernet") && (await this.gpuTrainerPresent());
    const job = (t: { id: string }) => ({ name: "trial", data: { trialId: t.id }, opts: this.trialJobOptions(t.id) });
    const toGpu = gpu ? trials.filter((t) => t.kind === "supernet") : [];
    const toAny = trials.filter((t) => !toGpu.includes(t));
    if (toAny.length) await this.trials.addBulk(toAny.map(job));
    if (toGpu.length) await this.gpuTrials.addBulk(toGpu.map(job));
  }

  async close(): Promise<void> {
    await Promise.all([this.advance.close(), this.trials.close(), this.gpuTrials.close()]);
  }
}
