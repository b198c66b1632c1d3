/**
 * ASHA, asynchronous successive halving (Li et al. 2018, "A System for Massively Parallel Hyperparameter
 * Tuning"), in its stopping form: decisions are made as each trial reports, never waiting for a rung to fill.
 *
 * Rungs are at `minBudget·eta^k` for k = 0, 1, … while below `maxBudget`; a trial that reaches `maxBudget` is
 * complete. When a trial crosses a rung, its score is recorded there and it continues if it ranks within the top
 * 1/eta of the scores recorded at that rung so far (itself included), i.e. if its rank (1 = best; equal scores share
 * the better rank) is ≤ max(1, ⌊m/eta⌋) for m recorded scores, else it is pruned. The first trials at a rung
 * therefore go on (nothing to compare against yet), and as the rung fills the bar approaches its top 1/eta, as in
 * the synchronous algorithm. Scores are compared only within a rung, so a learning curve's level does not matter.
 */
import { z } from "zod";
import type { AshaConfig } from "../catalogue/schedulers.js";
import type { JsonValue } from "../core/json.js";
import { StateError } from "../core/errors.js";
import { readState } from "../core/state.js";
import type { Scheduler, SchedulerDecision } from "./scheduler.js";

const trialRecordSchema = z.object({
  /** Rungs (indices) this trial has crossed, with the score recorded at each. */
  scores: z.array(z.number()),
  pruned: z.boolean(),
});
type TrialRecord = z.infer<typeof trialRecordSchema>;

export const ashaStateSchema = z.object({
  /** Per rung, the scores recorded there, in report order. */
  rungScores: z.array(z.array(z.number())),
  trials: z.record(z.string(), trialRecordSchema),
});
type AshaState = z.infer<typeof ashaStateSchema>;

/** Throws RangeError for a budget that is not a positive finite number or a score that is not finite. */
export function checkReport(budget: number, score: number): void {
  if (!(budget > 0) || !Number.isFinite(budget)) throw new RangeError(`asha: budget must be a positive number, got ${budget}`);
  if (!Number.isFinite(score)) throw new RangeError(`asha: score must be a finite number, got ${score}`);
}

/** Rung budgets minBudget·eta^k below maxBudget; rounded so that 1·3^3 is 27 and not 27.000000000000004. */
export function rungBudgets(minBudget: number, maxBudget: number, eta: number): number[] {
  if (!(minBudget > 0) || !(maxBudget >= minBudget) || !(eta > 1)) {
    throw new RangeError(`asha: need 0 < minBudget ≤ maxBudget and eta > 1 (got minBudget ${minBudget}, maxBudget ${maxBudget}, eta ${eta})`);
  }
  const out: number[] = [];
  for (let b = minBudget; b < maxBudget * (1 - 1e-12); b = roundBudget(b * eta)) out.push(b);
  return out;
}

function roundBudget(b: number): number {
  return Number(b.toPrecision(12));
}

export class AshaScheduler implements Scheduler {
  readonly rungs: number[];
  private rungScores: number[][];
  private trials = new Map<string, TrialRecord>();

  constructor(readonly config: Omit<AshaConfig, "type">) {
    if (config.maxBudget < config.minBudget) throw new RangeError(`asha: maxBudget (${config.maxBudget}) must be ≥ minBudget (${config.minBudget})`);
    this.rungs = rungBudgets(config.minBudget, config.maxBudget, config.eta);
    this.rungScores = this.rungs.map(() => []);
  }

  budgets(): number[] {
    return [...this.rungs, this.config.maxBudget];
  }

  report(trialId: string, budget: number, score: number): SchedulerDecision {
    checkReport(budget, score);
    let trial = this.trials.get(trialId);
    if (!trial) this.trials.set(trialId, (trial = { scores: [], pruned: false }));
    if (trial.pruned) return "prune";
    // Every rung crossed since the last report is decided in order; the first one failed prunes the trial.
    for (let k = trial.scores.length; k < this.rungs.length && budget >= this.rungs[k]! * (1 - 1e-12); k++) {
      trial.scores.push(score);
      this.rungScores[k]!.push(score);
      if (!this.promotes(k, score)) {
        trial.pruned = true;
        return "prune";
      }
    }
    return "continue";
  }

  /** Whether `score` (already recorded at rung k) is within the top 1/eta of that rung. */
  promotes(k: number, score: number): boolean {
    const recorded = this.rungScores[k]!;
    const better = recorded.reduce((n, s) => n + (s > score ? 1 : 0), 0);
    return better + 1 <= Math.max(1, Math.floor(recorded.length / this.config.eta));
  }

  state(): JsonValue {
    const s: AshaState = { rungScores: this.rungScores, trials: Object.fromEntries(this.trials) };
    return s as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = readState(ashaStateSchema, state, "asha scheduler");
    if (s.rungScores.length !== this.rungs.length) throw new StateError(`asha: stored state has ${s.rungScores.length} rungs, this configuration ${this.rungs.length}`);
    this.rungScores = s.rungScores.map((r) => [...r]);
    this.trials = new Map(Object.entries(s.trials).map(([id, t]) => [id, { scores: [...t.scores], pruned: t.pruned }]));
  }
}
