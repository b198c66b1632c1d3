/**
 * Recovery of lost work. PostgreSQL is the source of truth and Redis only carries work, so the orchestrator
 * periodically compares them: every active search gets an advance (which also decides rung reports whose advance
 * was lost), every unfinished trial of an active search that has no job (Redis flushed, a crash between commit
 * and enqueue) is enqueued again, and a trial whose job BullMQ has given up on is marked failed. A sweep also
 * marks Redis (`markQueues`): when the mark is gone, Redis lost its queues (flushed, restarted empty) and the
 * orchestrator sweeps at once.
 */
import type { Db } from "../db/client.js";
import { failModel, modelsInTraining } from "../db/models.js";
import { activeSearchIds } from "../db/searches.js";
import { finishTrial, unfinishedTrials } from "../db/trials.js";
import type { Queues } from "../queue/queues.js";

export interface ReconcileReport {
  searches: number;
  requeued: number;
  failed: number;
}

export async function reconcile(db: Db, queues: Queues): Promise<ReconcileReport> {
  // First, so that a flush from now on is seen (queuesLost) and answered by the next sweep.
  await queues.markQueues();
  const searches = await activeSearchIds(db);
  const trials = await unfinishedTrials(db);
  let failed = 0;
  const lost: typeof trials = [];
  for (const t of trials) {
    const state = await queues.trialJobState(t.id);
    if (state === "unknown") lost.push(t);
    else if (state === "failed") {
      const job = await queues.trialJob(t.id);
      if (await finishTrial(db, t.id, "failed", job?.failedReason ?? "job failed")) failed++;
    }
  }
  await queues.enqueueTrials(lost);
  for (const id of searches) await queues.enqueueAdvance(id);
  // Models still training whose retrain job Redis lost are queued again; one whose job BullMQ gave up on fails.
  for (const id of await modelsInTraining(db)) {
    const state = await queues.retrainJobState(id);
    if (state === "unknown") await queues.enqueueRetrain(id);
    else if (state === "failed") await failModel(db, id, (await queues.retrain.getJob(id))?.failedReason ?? "retrain job failed");
  }
  return { searches: searches.length, requeued: lost.length, failed };
}
