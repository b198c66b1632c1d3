/** Database rows → API representations (dates as ISO strings, budget and objective grouped). */
import type { TrialKind } from "../core/status.js";
import type { SearchRow } from "../db/searches.js";
import type { TrialRow } from "../db/trials.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function searchView(s: SearchRow) {
  return {
    id: s.id,
    name: s.name,
    space: s.space,
    task: s.task,
    status: s.status,
    strategy: s.strategy,
    evaluator: s.evaluator,
    objective: { metric: s.objectiveMetric, direction: s.objectiveDirection as "minimize" | "maximize" },
    budget: { maxTrials: s.maxTrials, maxParallel: s.maxParallel, maxFailures: s.maxFailures },
    scheduler: s.scheduler,
    seed: s.seed,
    error: s.error,
    createdAt: s.createdAt.toISOString(),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
  };
}

export function trialView(t: TrialRow) {
  return {
    id: t.id,
    searchId: t.searchId,
    seq: t.seq,
    kind: t.kind as TrialKind,
    status: t.status,
    architecture: t.architecture,
    archHash: t.archHash,
    objective: t.objective,
    metrics: t.metrics,
    attempts: t.attempts,
    error: t.error,
    worker: t.worker,
    parentId: t.parentId,
    queuedAt: t.queuedAt.toISOString(),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
  };
}
