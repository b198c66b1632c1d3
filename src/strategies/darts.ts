/**
 * DARTS (Liu et al. 2019) as a strategy of the service: one-shot, gradient-based search. The strategy asks for one
 * supernet job (every candidate operation mixed by softmax weights α, trained bi-level by a trainer: see
 * the `supernet` evaluator, src/evaluators/supernet.ts, and src/models/supernet/), and when its result comes back it proposes the
 * derived architectures — the argmax at every decision, then `deriveTop` alternatives — as ordinary trials, trained
 * from scratch by the `train` evaluator. So the leaderboard holds retrained scores only: a supernet's own
 * validation loss is not any architecture's score.
 */
import { z } from "zod";
import type { DartsConfig } from "../catalogue/strategies.js";
import type { JsonObject, JsonValue } from "../core/json.js";
import { readState } from "../core/state.js";
import { architectureSchema, type Architecture } from "../spaces/definition.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";

const stateSchema = z.object({
  phase: z.enum(["supernet", "training-supernet", "derived", "done"]),
  supernetTrialId: z.string().nullable(),
  derived: z.array(architectureSchema),
  proposed: z.number().int().min(0),
});
type DartsState = z.infer<typeof stateSchema>;

export class DartsStrategy implements Strategy {
  private s: DartsState = { phase: "supernet", supernetTrialId: null, derived: [], proposed: 0 };

  constructor(private readonly args: StrategyArgs<DartsConfig>) {}

  ask(n: number): Proposal[] {
    if (this.s.phase === "supernet") {
      this.s.phase = "training-supernet";
      // The supernet job's "architecture" is the part DARTS does not relax (the job fills in defaults); the job is
      // run by the `supernet` evaluator with this strategy's options.
      const options = JSON.parse(JSON.stringify(this.args.options)) as JsonObject;
      return [{ kind: "supernet", architecture: (this.args.options.baseArchitecture ?? {}) as Architecture, job: { evaluator: "supernet", options } }];
    }
    if (this.s.phase !== "derived") return [];
    const next = this.s.derived.slice(this.s.proposed, this.s.proposed + n);
    this.s.proposed += next.length;
    if (this.s.proposed >= this.s.derived.length) this.s.phase = "done";
    return next.map((architecture) => ({ architecture, parentId: this.s.supernetTrialId }));
  }

  tell(results: readonly TrialResult[]): void {
    for (const r of results) {
      if (r.kind !== "supernet") continue;
      this.s.supernetTrialId = r.trialId;
      const derived = (r.metrics as { derived?: Architecture[] }).derived;
      // A failed supernet job leaves nothing to retrain: the search ends.
      if (r.status === "completed" && Array.isArray(derived) && derived.length > 0) {
        this.s.derived = derived;
        this.s.phase = "derived";
      } else this.s.phase = "done";
    }
  }

  state(): JsonValue {
    return structuredClone(this.s) as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    this.s = readState(stateSchema, state, "darts strategy");
  }
}
