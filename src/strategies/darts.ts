/**
 * DARTS (Liu et al. 2019) as a strategy of the service: one-shot, gradient-based search. The strategy asks for one
 * supernet job (every candidate operation mixed by softmax weights α, trained bi-level by a trainer: see
 * src/evaluators/train-supernet.ts and src/models/supernet/), and when its result comes back it proposes the
 * derived architectures — the argmax at every decision, then `deriveTop` alternatives — as ordinary trials, trained
 * from scratch by the `train` evaluator. So the leaderboard holds retrained scores only: a supernet's own
 * validation loss is not any architecture's score.
 */
import type { z } from "zod";
import { dartsConfigSchema } from "../models/supernet/darts-config.js";
import type { Architecture } from "../spaces/definition.js";
import { defineStrategy, type JsonValue, type Proposal, type Strategy, type StrategyArgs, type TrialResult } from "./strategy.js";

type Phase = "supernet" | "training-supernet" | "derived" | "done";

interface DartsState {
  phase: Phase;
  supernetTrialId: string | null;
  derived: Architecture[];
  proposed: number;
}

export class DartsStrategy implements Strategy {
  private s: DartsState = { phase: "supernet", supernetTrialId: null, derived: [], proposed: 0 };

  constructor(private readonly args: StrategyArgs<z.infer<typeof dartsConfigSchema>>) {}

  ask(n: number): Proposal[] {
    if (this.s.phase === "supernet") {
      this.s.phase = "training-supernet";
      // The supernet job's "architecture" is the part DARTS does not relax (the job fills in defaults).
      return [{ kind: "supernet", architecture: (this.args.options.baseArchitecture ?? {}) as Architecture }];
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
    this.s = structuredClone(state) as unknown as DartsState;
  }
}

export const dartsStrategy = defineStrategy({
  type: "darts",
  description: "DARTS: one supernet job (softmax-mixed candidate operations, bi-level optimisation on a trainer), then the derived architectures retrained from scratch as ordinary trials.",
  options: dartsConfigSchema,
  create: (args) => new DartsStrategy(args),
});
