/**
 * The two BullMQ queues and their job payloads. Redis only carries work: every job names a row in PostgreSQL,
 * which holds the truth, so a lost job is recreated from the database by the orchestrator's reconciler.
 *
 *   advance  {searchId}  → orchestrator: tell the strategy what finished, ask for new trials, enqueue them.
 *                          Deduplicated per search (at most one waiting and one active), so advances of one
 *                          search never run in parallel and a completion during an advance is never lost.
 *   trials   {trialId}   → trainer: evaluate one trial. The job id is the trial id, so a trial is queued once.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import type { Config } from "../config.js";

export const ADVANCE_QUEUE = "advance";
export const TRIALS_QUEUE = "trials";

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

  constructor(readonly connection: ConnectionOptions, readonly config: Pick<Config, "QUEUE_PREFIX" | "TRIAL_ATTEMPTS">) {
    const prefix = config.QUEUE_PREFIX;
    this.advance = new Queue(ADVANCE_QUEUE, { connection, prefix });
    this.trials = new Queue(TRIALS_QUEUE, { connection, prefix });
  }

  /** Asks the orchestrator to advance a search (coalesced with any advance already waiting). */
  async enqueueAdvance(searchId: string): Promise<void> {
    await this.advance.add(
      "advance",
      { searchId },
      { deduplication: { id: searchId, keepLastIfActive: true }, removeOnComplete: true, removeOnFail: 1000, attempts: 3, backoff: { type: "exponential", delay: 500 } },
    );
  }

  trialJobOptions(trialId: string): JobsOptions {
    return {
      jobId: trialId,
      attempts: this.config.TRIAL_ATTEMPTS,
      backoff: { type: "exponential", delay: 1000 },
      removeOnComplete: true,
      removeOnFail: 10_000,
    };
  }

  async enqueueTrials(trialIds: readonly string[]): Promise<void> {
    if (trialIds.length === 0) return;
    await this.trials.addBulk(trialIds.map((trialId) => ({ name: "trial", data: { trialId }, opts: this.trialJobOptions(trialId) })));
  }

  async close(): Promise<void> {
    await Promise.all([this.advance.close(), this.trials.close()]);
  }
}
