/**
 * Recovery of lost work. PostgreSQL is the source of truth and Redis only carries work, so the orchestrator
 * periodically compares them: every active search gets an advance, every unfinished trial of an active search
 * that has no job (Redis flushed, a crash between commit and enqueue) is enqueued again, and a trial whose job
 * BullMQ has given up on is marked failed.
 */
import type { Db } from "../db/client.js";
import { finishTrial } from "../db/trials.js";
import type { Queues } from "../queue/queues.js";

export interface ReconcileReport {
  searches: number;
  requeued: number;
  failed: number;
}

export async function reconcile(db: Db, queues: Queues): Promise<ReconcileReport> {
  const searches = await db.search.findMany({ where: { status: { in: ["queued", "running"] } }, select: { id: true } });
  const trials = await db.trial.findMany({
    where: { status: { in: ["queued", "running"] }, search: { status: { in: ["queued", "running"] } } },
    select: { id: true, kind: true },
  });
  let requeued = 0;
  let failed = 0;
  const lost: Array<{ id: string; kind: string }> = [];
  for (const t of trials) {
    const state = await queues.trialJobState(t.id);
    if (state === "unknown") lost.push(t);
    else if (state === "failed") {
      const job = await queues.trialJob(t.id);
      if (await finishTrial(db, t.id, "failed", job?.failedReason ?? "job failed")) failed++;
    }
  }
  if (lost.length) {
    await queues.enqueueTrials(lost);
    requeued = lost.length;
  }
  for (const s of searches) await queues.enqueueAdvance(s.id);
  return { searches: searches.length, requeued, failed };
}
