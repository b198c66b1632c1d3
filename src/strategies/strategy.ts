/**
 * The ask/tell interface every search strategy implements.
 *
 * Ownership and concurrency: only the orchestrator calls a strategy, one advance at a time per search (the
 * search's row is locked while it runs), so implementations need no locking. A strategy never sees the database
 * or the queue: it gets plain, serialisable snapshots of finished trials through `tell` and answers `ask` with
 * architectures. Between advances the orchestrator stores `state()` in PostgreSQL and recreates the strategy with
 * `restore`, so a strategy must keep everything it needs (including its RNG) in that JSON.
 *
 * Determinism: for the same space, options, seed and the same sequence of ask/tell calls, a strategy must make
 * the same proposals, including across a state()/restore() round trip.
 *
 * Errors: `restore` throws `StateError` (src/core/errors.ts) for a state it cannot read; the orchestrator then
 * fails the search with that message. Options are validated before a strategy is created (src/catalogue/).
 *
 * Every strategy passes the conformance suite tests/conformance/strategy.test.ts; registering one in
 * src/strategies/registry.ts (and its options in src/catalogue/strategies.ts) is all it takes to be tested.
 */
import type { JsonObject, JsonValue } from "../core/json.js";
import type { TrialKind } from "../core/status.js";
import type { Architecture } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";

/** What a strategy learns about one finished trial. Results arrive in completion order, which is any order. */
export interface TrialResult {
  trialId: string;
  /** "supernet" for a one-shot job the strategy asked for (see Proposal.kind); absent for ordinary trials. */
  kind?: ProposalKind;
  architecture: Architecture;
  status: "completed" | "failed" | "pruned";
  /** The objective metric as measured; null when the trial produced none (failed). */
  objective: number | null;
  /** The objective oriented so that higher is better (−objective when minimised); null when failed. */
  score: number | null;
  /** Every metric the evaluator reported. */
  metrics: Record<string, unknown>;
  parentId: string | null;
  /**
   * A multi-objective search's objectives, each oriented so that higher is better, in the search's order (`score` is
   * the first, when the trial is feasible); null when one is missing. Absent for a single objective.
   */
  scores?: number[] | null;
  /**
   * How much the trial breaks the search's constraints on measured metrics (src/catalogue/objectives.ts): absent or 0
   * when feasible. An infeasible trial has `score: null` (strategies that rank by one score treat it as unscored);
   * strategies that rank by constrained domination (evolution) place it behind every feasible trial.
   */
  violation?: number;
}

/**
 * "trial" (default): an architecture to train and score; it counts toward the search's budget.
 * "supernet": a one-shot job (DARTS' supernet training) run by a trainer; `architecture` holds the decisions it does
 * not relax. Its result comes back through `tell` like a trial's, with what it found in `metrics`; it is not a
 * trial of the budget and never reaches the leaderboard.
 */
export type ProposalKind = TrialKind;

/** A candidate to train. `parentId` records lineage (the trial it was mutated from), if any. */
export interface Proposal {
  architecture: Architecture;
  parentId?: string | null;
  kind?: ProposalKind;
  /**
   * A job (kind other than "trial") names the evaluator that runs it and that evaluator's options; the trainer runs
   * it with those, plus the search's evaluator options under `train` (what to train on). Trials use the search's
   * evaluator and have none.
   */
  job?: { evaluator: string; options: JsonObject };
}

export interface Strategy {
  /**
   * Up to `n` new architectures (n ≥ 1). Returning fewer (even none) means the strategy has nothing more to
   * propose right now, e.g. it waits for results or the space is exhausted.
   */
  ask(n: number): Proposal[] | Promise<Proposal[]>;
  /** Results of finished trials that this strategy proposed, each told exactly once. */
  tell(results: readonly TrialResult[]): void | Promise<void>;
  /** Everything needed to continue: JSON only. */
  state(): JsonValue;
  /** Continues from a value returned by `state()` of a strategy with the same space, options and seed. */
  restore(state: JsonValue): void;
}

export interface StrategyArgs<Options> {
  space: SearchSpace;
  options: Options;
  seed: number;
  /**
   * Whether an architecture keeps the search's constraints on costs known before training (parameters, FLOPs;
   * src/catalogue/architecture-costs.ts). Strategies that use it (random, evolution) never propose one that does not;
   * the orchestrator refuses any other strategy's infeasible proposal without training it. Absent: all are feasible.
   */
  feasible?: (architecture: Architecture) => boolean;
}

/** What a search gives its strategy besides options and seed (see StrategyArgs). */
export type StrategyContext = Pick<StrategyArgs<unknown>, "feasible">;

export type { JsonValue };
