/**
 * Advancing a search: the only place a strategy or a scheduler is called. Under the search's lock
 * (withSearchLock, so advances of one search are serial even across orchestrator processes) it
 *   1. decides the rung reports trainers recorded since the last advance (scheduler: continue or prune),
 *   2. tells the strategy every trial that finished since the last advance,
 *   3. decides whether the search is done,
 *   4. asks for up to min(maxParallel − in flight, maxTrials − finished − in flight, its fair share of the project's
 *      quota of trials in flight) new architectures, checks each against the trial ceilings and the search's compute
 *      budget, inserts them as queued trials (with their rung budgets under a scheduler), and stores both states.
 * The caller enqueues the new trials after the commit; if it dies before that, the reconciler finds the queued
 * trials in PostgreSQL and enqueues them.
 *
 * Fairness: a project's quota of trials in flight (MAX_TRIALS_IN_FLIGHT_PER_PROJECT) is shared among its active
 * searches by water-filling (each gets min(its maxParallel, an equal share of what the smaller ones leave)), and a
 * search over its share wakes the searches under theirs as its trials finish. Across projects, the queue takes
 * the searches' trials in turn (start-time fair queuing, Queues.enqueueTrials) rather than the oldest's first.
 */
import { randomUUID } from "node:crypto";
import { architectureCostModel, preTrainingMetrics } from "../catalogue/architecture-costs.js";
import { brokenLimit, trainCost, type TrialLimits } from "../catalogue/cost.js";
import { brokenConstraint, constraintViolation, objectiveSpecOf, toldObjectives } from "../catalogue/objectives.js";
import type { SchedulerConfig } from "../catalogue/schedulers.js";
import type { Config } from "../config.js";
import { StateError } from "../core/errors.js";
import type { JsonValue } from "../core/json.js";
import { TOLD_STATUSES, type SearchStatus, type TrialKind, type TrialStatus } from "../core/status.js";
import type { Db } from "../db/client.js";
import { withSearchLock, type LockedSearch, type LockedSearchRow, type NewTrial, type TrialCount } from "../db/search-lock.js";
import { createScheduler } from "../schedulers/registry.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import type { SearchSpace } from "../spaces/space.js";
import { createStrategy } from "../strategies/registry.js";
import type { Proposal, Strategy } from "../strategies/strategy.js";

export interface AdvanceOutcome {
  /** Trials (and jobs) created by this advance, to enqueue. */
  created: Array<{ id: string; kind: TrialKind; flops?: number }>;
  status: SearchStatus;
  /** Rung reports decided by this advance (their trainers are waiting). */
  decided: number;
  /** Searches to advance now: this one, when it stored trials refused before queueing (to tell them), and searches
   *  of its project under their share of the project's quota. */
  wake: string[];
}

/** The settings an advance enforces (src/config.ts); absent ones do not limit. */
export type AdvanceLimits = Partial<TrialLimits & Pick<Config, "MAX_TRIALS_IN_FLIGHT_PER_PROJECT" | "MAX_TRAIN_FLOPS_PER_SEARCH">>;

export async function advanceSearch(db: Db, spaces: SpaceRegistry, searchId: string, limits: AdvanceLimits = {}): Promise<AdvanceOutcome> {
  const outcome = await withSearchLock(db, searchId, (search) => advanceLocked(search, spaces, limits));
  return outcome ?? { created: [], status: "failed", decided: 0, wake: [] };
}

async function advanceLocked(search: LockedSearch, spaces: SpaceRegistry, limits: AdvanceLimits): Promise<AdvanceOutcome> {
  const { row } = search;
  if (row.status !== "queued" && row.status !== "running") return { created: [], status: row.status, decided: 0, wake: [] };
  const wakeProject = async () => (await search.projectLoad()).filter((s) => s.id !== row.id).map((s) => s.id);
  const end = async (status: "completed" | "failed", error: string | null, states: { strategy?: JsonValue; scheduler?: JsonValue | null } = {}) => {
    await search.end(status, error, states);
    // Its share of the project's quota goes to the project's other searches.
    return { created: [], status, decided, wake: limits.MAX_TRIALS_IN_FLIGHT_PER_PROJECT ? await wakeProject() : [] };
  };
  let decided = 0;
  const space = spaces.resolve(row.space, row.spaceDefinition);
  if (!space) return end("failed", `search space '${row.space}' is no longer available`);

  // What the search optimises (catalogue/objectives.ts): its objectives and constraints. Constraints on costs known
  // before training are the strategy's to keep (`feasible`), and refused below for a strategy that does not.
  const spec = objectiveSpecOf(row);
  const costs = architectureCostModel(space, row.evaluator);
  const preTraining = preTrainingMetrics(space);
  const preConstraints = spec.constraints.filter((c) => preTraining.includes(c.metric));
  const feasible = preConstraints.length === 0 ? undefined : (a: Architecture) => {
    const c = costs(a);
    return !c || constraintViolation(preConstraints, c) === 0; // unpriceable: the trial reports its own problem
  };

  let strategy: Strategy;
  let scheduler: Scheduler | null;
  try {
    strategy = createStrategy(row.strategy, space, row.seed, row.strategyState, { feasible });
    scheduler = row.scheduler ? createScheduler(row.scheduler as SchedulerConfig, row.schedulerState) : null;
  } catch (err) {
    // A stored state that cannot be read back will not become readable: the search fails, saying why.
    if (err instanceof StateError) return end("failed", `search ${row.id}: ${err.message}`);
    throw err;
  }

  // 1. Rung reports, in the order trainers recorded them (the scheduler's decisions depend on that order).
  if (scheduler) {
    const reports = await search.pendingRungReports();
    await search.decideRungReports(reports.map((r) => ({ id: r.id, decision: scheduler!.report(r.trialId, r.budget, r.score) })));
    decided = reports.length;
  }

  // 2. Results are told in completion order.
  const untold = await search.takeUntold();
  if (untold.length > 0) {
    const sign = row.objectiveDirection === "maximize" ? 1 : -1;
    const several = spec.objectives.length > 1 || spec.constraints.length > 0;
    await strategy.tell(
      untold.map((t) => {
        // Several objectives or constraints: the scores of all and the violation, from the metrics and the costs.
        const extra = several && t.kind === "trial" ? toldObjectives(spec, { ...costs(t.architecture as Architecture), ...t.metrics }, t.objective) : {};
        return {
          trialId: t.id,
          ...(t.kind !== "trial" ? { kind: t.kind } : {}),
          architecture: t.architecture as Architecture,
          status: t.status,
          objective: t.objective,
          score: t.objective === null || (extra.violation ?? 0) > 0 ? null : sign * t.objective,
          metrics: t.metrics ?? {},
          parentId: t.parentId,
          ...extra,
        };
      }),
    );
  }

  // 3. One snapshot of the search's trials. A trial that finished after takeUntold() is not told yet: it counts as
  // in flight (its advance is queued behind this one), so it is neither counted twice nor replaced.
  const counts = await search.countTrials();
  const count = (statuses: readonly TrialStatus[], opts: { kind?: TrialKind; told?: boolean } = {}) => countOf(counts, statuses, opts);
  // The budget (maxTrials) counts every trial that finished: completed, pruned or failed (README, "Budget"; the
  // API's BUDGET_COUNTS). Only trials count; a supernet job occupies a worker but is not a trial.
  const finished = count(["completed", "pruned", "failed"], { kind: "trial", told: true });
  const completed = count(["completed", "pruned"], { kind: "trial", told: true });
  const inFlight = count(["queued", "running"]) + count(TOLD_STATUSES, { told: false });
  const inFlightTrials = count(["queued", "running"], { kind: "trial" }) + count(TOLD_STATUSES, { kind: "trial", told: false });
  const failed = count(["failed"], { told: true });
  const states = () => ({ strategy: strategy.state(), scheduler: scheduler?.state() ?? null });

  if (finished >= row.maxTrials) {
    // A budget spent on failures alone found nothing: the search failed.
    if (completed === 0) return end("failed", `all ${finished} trials of the budget (budget.maxTrials = ${row.maxTrials}) failed; see the trials' errors`, states());
    return end("completed", null, states());
  }
  if (failed > row.maxFailures) return end("failed", `${failed} trials failed (more than budget.maxFailures = ${row.maxFailures}); see the trials' errors`, states());

  // 4. Refill, within the search's budget and its share of the project's quota.
  let slots = Math.min(row.maxParallel - inFlight, row.maxTrials - finished - inFlightTrials);
  let wake: string[] = [];
  const quota = limits.MAX_TRIALS_IN_FLIGHT_PER_PROJECT;
  // Alone in its project, a search within the quota's size cannot pass it: the project's load need not be read.
  if (quota !== undefined && (row.projectActive > 1 || row.maxParallel > quota)) {
    const load = await search.projectLoad();
    const shares = waterFill(load, quota);
    const share = shares.get(row.id) ?? 0;
    const projectInFlight = load.reduce((n, s) => n + s.inFlight, 0);
    slots = Math.min(slots, share - inFlight, quota - projectInFlight);
    // At or over its share, this search leaves what its finished trials freed to the searches under theirs.
    if (inFlight >= share && projectInFlight < quota) wake = load.filter((s) => s.id !== row.id && s.inFlight < (shares.get(s.id) ?? 0)).map((s) => s.id);
  }
  if (row.computeExhausted) slots = 0;
  const asked = slots > 0;
  const proposals = asked ? await strategy.ask(slots) : [];
  if (proposals.length === 0 && inFlight === 0) {
    if (row.computeExhausted) return end("completed", `the search's compute budget (MAX_TRAIN_FLOPS_PER_SEARCH = ${limits.MAX_TRAIN_FLOPS_PER_SEARCH}) is spent after ${completed} trials`, states());
    // Asked and given nothing, with nothing in flight: the strategy is done. (Not asked: it waits for its share.)
    if (asked && completed === 0) return end("failed", `the strategy proposed no architecture to train${failed ? " (see the failed trials)" : ""}`, states());
    if (asked) return end("completed", `the strategy had no more architectures to propose after ${completed} trials`, states());
  }
  const trials: NewTrial[] = [];
  /** Each trial's estimated training FLOPs, which route it to a GPU trainer when large (Queues.enqueueTrials). */
  const trialFlops = new Map<NewTrial, number>();
  let flops = 0;
  let computeExhausted = false;
  for (const p of proposals) {
    const t = newTrial(p, space, row.evaluator, scheduler);
    if (t.kind === "trial" && preConstraints.length > 0) {
      const known = costs(p.architecture);
      const broken = known && brokenConstraint(preConstraints, known, preTraining);
      if (broken) t.failed = `TrialError: refused before training: ${broken}`;
    }
    const cost = t.kind === "trial" && row.evaluator.type === "train" && !t.failed ? trainCostOf(space, p.architecture, row) : undefined;
    if (cost) {
      const broken = brokenLimit(cost, { MAX_TRIAL_PARAMS: Infinity, MAX_TRIAL_STEPS: Infinity, MAX_TRIAL_TOKENS_PER_STEP: Infinity, ...limits });
      if (broken) t.failed = `TrialError: refused before training: ${broken.message}`;
      else if (row.computeFlops + flops + cost.flops > (limits.MAX_TRAIN_FLOPS_PER_SEARCH ?? Infinity)) {
        computeExhausted = true; // this trial and the rest would pass the search's compute budget
        break;
      } else flops += cost.flops;
      trialFlops.set(t, cost.flops);
    }
    trials.push(t);
  }
  await search.insertTrials(trials);
  await search.saveProgress({ created: trials.length, flops, computeExhausted }, strategy.state(), scheduler?.state() ?? null);
  const refused = trials.some((t) => t.failed) || (computeExhausted && trials.length === 0 && inFlight === 0);
  const queued = trials.filter((t) => !t.failed);
  return {
    created: queued.map((t) => ({ id: t.id, kind: t.kind, flops: trialFlops.get(t) })),
    status: "running",
    decided,
    wake: refused ? [row.id, ...wake] : wake,
  };
}

/** The cost of training an architecture with the search's `train` options (the scheduler's maxBudget as its steps). */
function trainCostOf(space: SearchSpace, architecture: Architecture, row: LockedSearchRow) {
  const { type: _type, ...options } = row.evaluator;
  return trainCost(space, architecture, options, (row.scheduler as { maxBudget?: number } | null)?.maxBudget);
}

/**
 * Max–min fair shares of a quota among searches that each run at most maxParallel trials at once: every search
 * gets min(maxParallel, λ), λ as large as the quota allows (water-filling, in order of demand).
 */
export function waterFill(searches: ReadonlyArray<{ id: string; maxParallel: number }>, quota: number): Map<string, number> {
  const shares = new Map<string, number>();
  let left = quota;
  const byDemand = [...searches].sort((a, b) => a.maxParallel - b.maxParallel || a.id.localeCompare(b.id));
  byDemand.forEach((s, i) => {
    const share = Math.min(s.maxParallel, Math.floor(left / (byDemand.length - i)));
    shares.set(s.id, share);
    left -= share;
  });
  // What rounding left over goes to those that can use it, one each.
  for (const s of byDemand) {
    if (left <= 0) break;
    if (shares.get(s.id)! < s.maxParallel) {
      shares.set(s.id, shares.get(s.id)! + 1);
      left--;
    }
  }
  return shares;
}

function countOf(counts: readonly TrialCount[], statuses: readonly TrialStatus[], opts: { kind?: TrialKind; told?: boolean }): number {
  return counts
    .filter((c) => statuses.includes(c.status) && (opts.kind === undefined || c.kind === opts.kind) && (opts.told === undefined || c.told === opts.told))
    .reduce((n, c) => n + c.n, 0);
}

/**
 * A proposal as a trial row. Under a scheduler a trial gets its rung budgets now (Hyperband deals brackets as it is
 * asked: in creation order, under the lock). A job's architecture is a partial one (the decisions it does not
 * relax), stored as given, and its evaluator config is its own options plus the search's evaluator options.
 */
function newTrial(p: Proposal, space: SearchSpace, searchEvaluator: { type: string } & Record<string, unknown>, scheduler: Scheduler | null): NewTrial {
  const id = randomUUID();
  const kind = p.kind ?? "trial";
  const parentId = p.parentId ?? null;
  if (kind === "trial") {
    const architecture = space.canonical(p.architecture) as JsonValue;
    return { id, kind, architecture, archHash: space.hash(p.architecture), parentId, budgets: scheduler?.budgets(id) ?? null, evaluator: null };
  }
  if (!p.job) throw new Error(`a '${kind}' proposal must name the evaluator that runs it (Proposal.job)`);
  const { type: _type, ...train } = searchEvaluator;
  return { id, kind, architecture: p.architecture as JsonValue, archHash: kind, parentId, budgets: null, evaluator: { type: p.job.evaluator, ...p.job.options, train: train as JsonValue } };
}
