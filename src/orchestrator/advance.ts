/**
 * Advancing a search: the only place a strategy or a scheduler is called. Under the search's lock
 * (withSearchLock, so advances of one search are serial even across orchestrator processes) it
 *   1. decides the rung reports trainers recorded since the last advance (scheduler: continue or prune),
 *   2. tells the strategy every trial that finished since the last advance,
 *   3. decides whether the search is done,
 *   4. asks for up to min(maxParallel − in flight, maxTrials − completed − in flight) new architectures and inserts
 *      them as queued trials (with their rung budgets under a scheduler), and stores both states.
 * The caller enqueues the new trials after the commit; if it dies before that, the reconciler finds the queued
 * trials in PostgreSQL and enqueues them.
 */
import { randomUUID } from "node:crypto";
import type { SchedulerConfig } from "../catalogue/schedulers.js";
import { StateError } from "../core/errors.js";
import type { JsonValue } from "../core/json.js";
import { TOLD_STATUSES, type SearchStatus, type TrialKind, type TrialStatus } from "../core/status.js";
import type { Db } from "../db/client.js";
import { withSearchLock, type LockedSearch, type NewTrial, type TrialCount } from "../db/search-lock.js";
import { createScheduler } from "../schedulers/registry.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import type { SearchSpace } from "../spaces/space.js";
import { createStrategy } from "../strategies/registry.js";
import type { Proposal, Strategy } from "../strategies/strategy.js";

export interface AdvanceOutcome {
  /** Trials (and jobs) created by this advance, to enqueue. */
  created: Array<{ id: string; kind: TrialKind }>;
  status: SearchStatus;
  /** Rung reports decided by this advance (their trainers are waiting). */
  decided: number;
}

export async function advanceSearch(db: Db, spaces: SpaceRegistry, searchId: string): Promise<AdvanceOutcome> {
  const outcome = await withSearchLock(db, searchId, (search) => advanceLocked(search, spaces));
  return outcome ?? { created: [], status: "failed", decided: 0 };
}

async function advanceLocked(search: LockedSearch, spaces: SpaceRegistry): Promise<AdvanceOutcome> {
  const { row } = search;
  if (row.status !== "queued" && row.status !== "running") return { created: [], status: row.status, decided: 0 };
  const end = async (status: "completed" | "failed", error: string | null, states: { strategy?: JsonValue; scheduler?: JsonValue | null } = {}) => {
    await search.end(status, error, states);
    return { created: [], status, decided };
  };
  let decided = 0;
  const space = spaces.get(row.space);
  if (!space) return end("failed", `search space '${row.space}' is no longer available`);

  let strategy: Strategy;
  let scheduler: Scheduler | null;
  try {
    strategy = createStrategy(row.strategy, space, row.seed, row.strategyState);
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
    await strategy.tell(
      untold.map((t) => ({
        trialId: t.id,
        ...(t.kind !== "trial" ? { kind: t.kind } : {}),
        architecture: t.architecture as Architecture,
        status: t.status,
        objective: t.objective,
        score: t.objective === null ? null : sign * t.objective,
        metrics: t.metrics ?? {},
        parentId: t.parentId,
      })),
    );
  }

  // 3. One snapshot of the search's trials. A trial that finished after takeUntold() is not told yet: it counts as
  // in flight (its advance is queued behind this one), so it is neither counted twice nor replaced.
  const counts = await search.countTrials();
  const count = (statuses: readonly TrialStatus[], opts: { kind?: TrialKind; told?: boolean } = {}) => countOf(counts, statuses, opts);
  // Only trials count toward the budget; a supernet job occupies a worker but is not a trial.
  const completed = count(["completed", "pruned"], { kind: "trial", told: true });
  const inFlight = count(["queued", "running"]) + count(TOLD_STATUSES, { told: false });
  const inFlightTrials = count(["queued", "running"], { kind: "trial" }) + count(TOLD_STATUSES, { kind: "trial", told: false });
  const failed = count(["failed"], { told: true });
  const states = () => ({ strategy: strategy.state(), scheduler: scheduler?.state() ?? null });

  if (completed >= row.maxTrials) return end("completed", null, states());
  if (failed > row.maxFailures) return end("failed", `${failed} trials failed (more than budget.maxFailures = ${row.maxFailures}); see the trials' errors`, states());

  // 4. Refill.
  const slots = Math.min(row.maxParallel - inFlight, row.maxTrials - completed - inFlightTrials);
  const proposals = slots > 0 ? await strategy.ask(slots) : [];
  if (proposals.length === 0 && inFlight === 0) {
    if (completed === 0) return end("failed", `the strategy proposed no architecture to train${failed ? " (see the failed trials)" : ""}`, states());
    return end("completed", `the strategy had no more architectures to propose after ${completed} trials`, states());
  }
  const trials = proposals.map((p) => newTrial(p, space, row.evaluator, scheduler));
  await search.insertTrials(trials);
  await search.saveProgress(trials.length, strategy.state(), scheduler?.state() ?? null);
  return { created: trials.map((t) => ({ id: t.id, kind: t.kind })), status: "running", decided };
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
