/**
 * Random search: uniform samples from the space, never the same architecture twice in one search while the
 * space has unseen ones. The baseline every other strategy must beat.
 */
import { z } from "zod";
import { Rng, type RngState } from "../core/rng.js";
import { sampleUnseen } from "./sample-unseen.js";
import { defineStrategy, type JsonValue, type Proposal, type Strategy, type StrategyArgs } from "./strategy.js";

const options = z.object({
  maxTriesPerProposal: z.number().int().min(1).max(100_000).default(200).describe("samples drawn to find an unseen architecture before giving up (default 200)"),
});

export class RandomStrategy implements Strategy {
  private rng: Rng;
  private seen = new Set<string>();

  constructor(private readonly args: StrategyArgs<z.infer<typeof options>>) {
    this.rng = new Rng(args.seed);
  }

  ask(n: number): Proposal[] {
    const { space, options } = this.args;
    const out: Proposal[] = [];
    while (out.length < n) {
      const architecture = sampleUnseen(space, this.rng, this.seen, options.maxTriesPerProposal);
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
    const s = state as { rng: RngState; seen: string[] };
    this.rng = new Rng(s.rng);
    this.seen = new Set(s.seen);
  }
}

export const randomStrategy = defineStrategy({
  type: "random",
  description: "Uniform random sampling without repeats (the baseline).",
  options,
  create: (args) => new RandomStrategy(args),
});
