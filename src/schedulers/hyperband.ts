/**
 * Asynchronous Hyperband (Li et al. 2018, section 3 of the ASHA paper): several ASHA brackets that differ in how
 * early they start pruning, so that a search is not ruined when low-budget scores say little about the final ones.
 *
 * Bracket s (s = 0 … sMax) is an ASHA ladder starting at minBudget·eta^s: s = 0 is the most aggressive, sMax
 * trains everything fully. New trials are dealt to brackets in proportion to Hyperband's bracket sizes
 * n_s = ⌈(sMax+1)·eta^h / (h+1)⌉ with h = sMax−s halvings, which gives every bracket about the same total budget;
 * the deal is a fixed, smooth weighted round robin, so it is deterministic and needs only a counter in the state.
 */
import type { HyperbandConfig } from "../catalogue/schedulers.js";
import { z } from "zod";
import type { JsonValue } from "../core/json.js";
import { StateError } from "../core/errors.js";
import { readState } from "../core/state.js";
import { AshaScheduler, ashaStateSchema, checkReport, rungBudgets } from "./asha.js";
import type { Scheduler, SchedulerDecision } from "./scheduler.js";


const stateSchema = z.object({
  /** Trials dealt a bracket so far. */
  dealt: z.number().int().min(0),
  /** Trial id → bracket. */
  assignment: z.record(z.string(), z.number().int().min(0)),
  brackets: z.array(ashaStateSchema),
});

export class HyperbandScheduler implements Scheduler {
  private readonly brackets: AshaScheduler[];
  /** Bracket of the i-th new trial, i mod cycle length. */
  private readonly cycle: number[];
  private dealt = 0;
  private assignment = new Map<string, number>();

  constructor(readonly config: Omit<HyperbandConfig, "type">) {
    const ladder = rungBudgets(config.minBudget, config.maxBudget, config.eta);
    const sMax = ladder.length;
    this.brackets = [];
    const sizes: number[] = [];
    for (let s = 0; s <= sMax; s++) {
      const minBudget = s < sMax ? ladder[s]! : config.maxBudget;
      this.brackets.push(new AshaScheduler({ minBudget, maxBudget: config.maxBudget, eta: config.eta }));
      sizes.push(Math.ceil(((sMax + 1) * config.eta ** (sMax - s)) / (sMax - s + 1)));
    }
    this.cycle = smoothRoundRobin(sizes);
  }

  budgets(trialId: string): number[] {
    return this.brackets[this.bracketOf(trialId)]!.budgets();
  }

  report(trialId: string, budget: number, score: number): SchedulerDecision {
    checkReport(budget, score); // before a bracket is dealt: a rejected report changes nothing
    return this.brackets[this.bracketOf(trialId)]!.report(trialId, budget, score);
  }

  /** The bracket of a trial, dealt on first sight. */
  bracketOf(trialId: string): number {
    let b = this.assignment.get(trialId);
    if (b === undefined) {
      b = this.cycle[this.dealt++ % this.cycle.length]!;
      this.assignment.set(trialId, b);
    }
    return b;
  }

  state(): JsonValue {
    return { dealt: this.dealt, assignment: Object.fromEntries(this.assignment), brackets: this.brackets.map((b) => b.state()) };
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "hyperband scheduler");
    if (s.brackets.length !== this.brackets.length) throw new StateError(`hyperband scheduler: stored state has ${s.brackets.length} brackets, this configuration ${this.brackets.length}`);
    this.dealt = s.dealt;
    this.assignment = new Map(Object.entries(s.assignment));
    s.brackets.forEach((b, i) => this.brackets[i]!.restore(b as unknown as JsonValue));
  }
}

/** A sequence in which item i appears weights[i] times, spread out (nginx's smooth weighted round robin). */
function smoothRoundRobin(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}
