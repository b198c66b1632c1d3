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
 */
import type { z } from "zod";
import type { Architecture } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";

import type { JsonValue } from "../core/json.js";
export type { JsonValue };

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
}

/**
 * "trial" (default): an architecture to train and score; it counts toward the search's budget.
 * "supernet": a one-shot job (DARTS' supernet training) run by a trainer; `architecture` holds the decisions it does
 * not relax. Its result comes back through `tell` like a trial's, with what it found in `metrics`; it is not a
 * trial of the budget and never reaches the leaderboard.
 */
export type ProposalKind = "trial" | "supernet";

/** A candidate to train. `parentId` records lineage (the trial it was mutated from), if any. */
export interface Proposal {
  architecture: Architecture;
  parentId?: string | null;
  kind?: ProposalKind;
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
}

/** How a strategy type is registered: its options schema (validated at the API's edge) and a constructor. */
export interface StrategyDefinition<Schema extends z.ZodObject = z.ZodObject> {
  type: string;
  description: string;
  /** zod schema of the strategy's options object, `type` excluded; defaults documented with `.describe`. */
  options: Schema;
  create(args: StrategyArgs<z.infer<Schema>>): Strategy;
}

/** Wraps a definition so that `options` keeps its inferred type at the call site. */
export function defineStrategy<Schema extends z.ZodObject>(def: StrategyDefinition<Schema>): StrategyDefinition<Schema> {
  return def;
}
