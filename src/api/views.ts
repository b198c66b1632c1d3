/**
 * Database rows → API representations (dates as ISO strings, budget and objective grouped). Every JSON that shows
 * a search or a trial is built here, so that the listings, the details and the events stream (routes/events.ts)
 * show the same fields: `searchJson` and `trialsJson` read what they need in one statement each.
 */
import { plannedTrainSteps } from "../catalogue/cost.js";
import type { SpaceRegistry } from "../catalogue/index.js";
import { objectiveSpecOf } from "../catalogue/objectives.js";
import type { TrialKind } from "../core/status.js";
import type { Db } from "../db/client.js";
import type { Scope } from "../db/projects.js";
import { searchProgress, trialSteps, type SearchProgressRow } from "../db/search-progress.js";
import type { SearchRow } from "../db/searches.js";
import type { TrialRow } from "../db/trials.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Every objective of a search (one for a single-objective search), its constraints and declared reference point. */
function objectivesView(s: SearchRow) {
  const spec = objectiveSpecOf(s);
  return { objectives: spec.objectives, constraints: spec.constraints, referencePoint: spec.referencePoint };
}

export function searchView(s: SearchRow) {
  return {
    id: s.id,
    name: s.name,
    space: s.space,
    spaceVersion: s.spaceVersion,
    task: s.task,
    status: s.status,
    strategy: s.strategy,
    evaluator: s.evaluator,
    objective: { metric: s.objectiveMetric, direction: s.objectiveDirection as "minimize" | "maximize" },
    ...objectivesView(s),
    budget: { maxTrials: s.maxTrials, maxParallel: s.maxParallel, maxFailures: s.maxFailures },
    scheduler: s.scheduler,
    seed: s.seed,
    error: s.error,
    createdAt: s.createdAt.toISOString(),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
  };
}

/** What a trial's planned steps depend on: its search's space family and evaluator. */
export interface TrialPlan {
  family: string | undefined;
  evaluator: { type?: string } & Record<string, unknown>;
}

/** The plan of a search's trials (`spaces` resolves the space snapshotted with the search). */
export function trialPlanOf(search: Pick<SearchRow, "space" | "spaceDefinition" | "evaluator">, spaces: SpaceRegistry): TrialPlan {
  return { family: spaces.resolve(search.space, search.spaceDefinition)?.family, evaluator: (search.evaluator ?? {}) as TrialPlan["evaluator"] };
}

/**
 * The steps a trial will train: under a scheduler its full budget (the last of its rung budgets: it may be pruned
 * before), with the train evaluator its options' steps (its `train.steps` decision first, then the family's
 * default); null for what has no steps (a benchmark lookup, a DARTS supernet job).
 */
export function budgetStepsOf(t: Pick<TrialRow, "kind" | "budgets" | "architecture">, plan: TrialPlan | undefined): number | null {
  if (t.budgets && t.budgets.length > 0) return t.budgets.at(-1)!;
  if (!plan || t.kind !== "trial" || plan.evaluator.type !== "train" || !plan.family) return null;
  const { type: _type, ...options } = plan.evaluator;
  return plannedTrainSteps(plan.family, (t.architecture ?? {}) as Record<string, never>, options) ?? null;
}

/**
 * A running trial's remaining time, from its rate so far (steps over seconds since it started this attempt);
 * null when it is not running or has not reported a step yet.
 */
export function etaSecondsOf(t: Pick<TrialRow, "status" | "startedAt">, step: number | null, budgetSteps: number | null, now = Date.now()): number | null {
  if (t.status !== "running" || !t.startedAt || step === null || step <= 0 || budgetSteps === null) return null;
  const elapsed = (now - t.startedAt.getTime()) / 1000;
  if (!(elapsed > 0)) return null;
  return Math.max(0, Math.round(((budgetSteps - step) * elapsed) / step));
}

/** A trial's JSON; `step` is its last curve step this attempt (trialSteps), `plan` its search's (trialPlanOf). */
export function trialView(t: TrialRow, extra: { step?: number | null; plan?: TrialPlan } = {}) {
  const step = extra.step ?? null;
  const budgetSteps = budgetStepsOf(t, extra.plan);
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
    backend: t.backend,
    step,
    budgetSteps,
    etaSeconds: etaSecondsOf(t, step, budgetSteps),
    parentId: t.parentId,
    queuedAt: t.queuedAt.toISOString(),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
  };
}

/** The JSON of a page of a search's trials, with their steps read in one statement. */
export async function trialsJson(db: Db, scope: Scope, plan: TrialPlan, trials: readonly TrialRow[]) {
  const steps = await trialSteps(db, scope, trials.map((t) => t.id));
  return trials.map((t) => trialView(t, { step: steps.get(t.id) ?? null, plan }));
}

/**
 * What the search's JSON adds to its row: `progress` (trial counts and the budget they are counted against),
 * `best` (by the primary objective) and `backends` (trials per tfjs backend).
 */
export function progressView(s: Pick<SearchRow, "maxTrials">, p: SearchProgressRow) {
  const { completed, pruned, failed, cancelled, running, queued } = p.counts;
  return {
    progress: { completed, pruned, failed, cancelled, running, queued, budget: s.maxTrials },
    best: p.best,
    backends: p.backends,
  };
}

/** A search's JSON as GET /v1/searches lists it (and the events stream's `search` and `end` events send it). */
export function searchListItem(s: SearchRow, p: SearchProgressRow) {
  return { ...searchView(s), ...progressView(s, p) };
}

const NO_PROGRESS: SearchProgressRow = { counts: { queued: 0, running: 0, completed: 0, failed: 0, pruned: 0, cancelled: 0 }, best: null, backends: {} };

/** The JSON of one search as GET /v1/searches lists it, its progress read in one statement (for routes/events.ts). */
export async function searchJson(db: Db, scope: Scope, s: SearchRow) {
  const progress = (await searchProgress(db, scope, [s.id])).get(s.id) ?? NO_PROGRESS;
  return searchListItem(s, progress);
}
