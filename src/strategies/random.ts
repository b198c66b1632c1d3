/**
 * Random search: uniform samples from the space, never the same architecture twice in one search while the
 * space has unseen ones. The baseline every other strategy must beat. With constraints on costs known before
 * training, uniform over the feasible part: infeasible samples are drawn and dropped, never proposed. It ignores
 * results, so a list of objectives changes nothing (its Pareto front is that of its uniform samples).
 */
import { z } from "zod";
import type { RandomOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { sampleUnseen } from "./sample-unseen.js";
import type { Proposal, Strategy, StrategyArgs } from "./strategy.js";

const stateSchema = z.object({ rng: rngStateSchema, seen: z.array(z.string()) });

export class RandomStrategy implements Strategy {
  private rng: Rng;
  private seen = new Set<string>();

  constructor(private readonly args: StrategyArgs<RandomOptions>) {
    this.rng = new Rng(args.seed);
  }

  ask(n: number): Proposal[] {
    const { space, options } = this.args;
    const out: Proposal[] = [];
    while (out.length < n) {
      const architecture = sampleUnseen(space, this.rng, this.seen, options.maxTriesPerProposal, this.args.feasible);
      if (!architecture) break;
      this.seen.add(space.hash(architecture));
      out.push({ architecture });
    }
    return out;
  }

  tell(): void {
    // Random search learns nothing from results.
  }

  state(): JsonValue {
    return { rng: this.rng.state(), seen: [...this.seen] };
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "random strategy");
    this.rng = new Rng(s.rng);
    this.seen = new Set(s.seen);
  }
}
