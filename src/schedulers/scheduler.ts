/**
 * The multi-fidelity interface: a scheduler watches trials' intermediate scores while they train and tells each
 * one whether to go on to a larger budget or stop now (status `pruned`), so that most of the training budget goes
 * to the promising architectures (successive halving, Hyperband, ASHA: Li et al. 2018).
 *
 * A scheduler works with any proposing strategy: the strategy proposes architectures, the trainer trains them step
 * by step and reports, the scheduler decides, and the strategy is told the outcome (a pruned trial is told with
 * status `pruned` and the score it last reached).
 *
 * Budget is whatever the trainer counts: training steps, epochs, or, for a tabular benchmark, a simulated unit.
 * It is cumulative for a trial and must grow between its reports.
 *
 * Ownership and concurrency: like a strategy, a scheduler is owned by one search and called by one caller at a
 * time (the caller serialises `report`s of a search, e.g. under the search's row lock), so implementations need
 * no locking. Between calls the caller may store `state()` (JSON) and recreate the scheduler with `restore`; the
 * decisions continue identically. Decisions depend on the order of reports, which is the completion order of
 * asynchronous workers.
 */
import type { JsonValue } from "../core/json.js";

/** `continue`: train on to the next budget (at `maxBudget` the trial is simply complete). `prune`: stop now. */
export type SchedulerDecision = "continue" | "prune";

export interface Scheduler {
  /**
   * The budgets at which `trialId` should report, ascending; the last one is the full budget (`maxBudget`), where
   * the trial is complete. Reporting more often is allowed; the scheduler only decides where a rung is crossed.
   * A trial may get different budgets from others (Hyperband brackets), so ask per trial.
   */
  budgets(trialId: string): number[];
  /**
   * The trial `trialId` has trained up to `budget` (cumulative) and scored `score` there (higher is better).
   * Returns whether it goes on. Once a trial is pruned, later reports of it are answered `prune` again. A report
   * repeated for a rung already decided (a retried job) gets the same decision and is not counted twice.
   * Throws RangeError for a budget that is not a positive finite number or a score that is not finite.
   */
  report(trialId: string, budget: number, score: number): SchedulerDecision;
  /** Everything needed to continue: JSON only. */
  state(): JsonValue;
  /** Continues from a value returned by `state()` of a scheduler with the same configuration. */
  restore(state: JsonValue): void;
}
