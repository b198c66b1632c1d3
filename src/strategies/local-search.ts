/**
 * Local search (White, Nolen, Savani 2021, "Exploring the loss landscape in neural architecture search"), which
 * they found to be a strong baseline on NAS benchmarks, made asynchronous:
 *
 * - A *run* starts with `initialSamples` uniform samples. Its *center* is then always the best-scoring result of
 *   the run so far; proposals are the center's neighbours (architectures that differ in exactly one decision)
 *   not yet proposed in this search, in random order. A better neighbour that comes back becomes the center at
 *   once (first improvement), so the walk does not wait for a whole neighbourhood.
 * - When every neighbour of the center has been proposed and told, and none was better, the center is a local
 *   optimum: a new run starts from fresh random samples (random restart).
 * - While the center's neighbourhood is all proposed but some results are still out, free workers get uniform
 *   samples rather than waiting, which also feeds the next run.
 *
 * Neighbours keep every other decision's value; a decision that becomes active because of the change is drawn
 * uniformly, and neighbours that break a constraint are skipped. Failed trials (score null) are ignored; pruned
 * ones count with the score they reached.
 */
import { z } from "zod";
import type { LocalSearchOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { architectureSchema, type Architecture, type DecisionValue } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";
import { sampleUnseen } from "./sample-unseen.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";

type Options = LocalSearchOptions;

const scoredSchema = z.object({ trialId: z.string(), architecture: architectureSchema, score: z.number() });
type Scored = z.infer<typeof scoredSchema>;

const stateSchema = z.object({
  rng: rngStateSchema,
  seen: z.array(z.string()),
  /** Hashes proposed but not yet told. */
  pending: z.array(z.string()),
  center: scoredSchema.nullable(),
  /** Results of the current run (until it has `initialSamples`, then only the count matters). */
  runResults: z.number().int().min(0),
  runs: z.number().int().min(0),
});
type LocalSearchState = z.infer<typeof stateSchema>;

/** Every architecture that differs from `arch` in exactly one active decision and satisfies the constraints. */
export function neighbours(space: SearchSpace, arch: Architecture, rng: Rng): Architecture[] {
  const out: Architecture[] = [];
  const slots = space.slots(arch);
  const kept = new Map(slots.map((s) => [s.path, s.value] as [string, DecisionValue]));
  for (const target of slots) {
    for (const value of target.options) {
      if (value === target.value) continue;
      const child = space.build((slot) => {
        if (slot.path === target.path) return value;
        const old = kept.get(slot.path);
        return old !== undefined && slot.options.includes(old) ? old : rng.pick(slot.options);
      });
      if (space.isValid(child)) out.push(child);
    }
  }
  return out;
}

export class LocalSearchStrategy implements Strategy {
  private rng: Rng;
  private seen = new Set<string>();
  private pending = new Set<string>();
  private center: Scored | null = null;
  private runResults = 0;
  private runs = 0;

  constructor(private readonly args: StrategyArgs<Options>) {
    this.rng = new Rng(args.seed);
  }

  ask(n: number): Proposal[] {
    const { space } = this.args;
    const out: Proposal[] = [];
    for (let i = 0; i < n && this.seen.size < space.size(); i++) {
      const p = this.propose();
      if (!p) break;
      const hash = space.hash(p.architecture);
      this.seen.add(hash);
      this.pending.add(hash);
      out.push(p);
    }
    return out;
  }

  tell(results: readonly TrialResult[]): void {
    for (const r of results) {
      this.pending.delete(this.args.space.hash(r.architecture));
      if (r.score === null || !Number.isFinite(r.score)) continue;
      this.runResults++;
      if (!this.center || r.score > this.center.score) this.center = { trialId: r.trialId, architecture: r.architecture, score: r.score };
    }
  }

  state(): JsonValue {
    const s: LocalSearchState = {
      rng: this.rng.state(),
      seen: [...this.seen],
      pending: [...this.pending],
      center: this.center,
      runResults: this.runResults,
      runs: this.runs,
    };
    return s as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "local-search strategy");
    this.rng = new Rng(s.rng);
    this.seen = new Set(s.seen);
    this.pending = new Set(s.pending);
    this.center = s.center ? { ...s.center } : null;
    this.runResults = s.runResults;
    this.runs = s.runs;
  }

  private propose(): Proposal | undefined {
    const { space, options } = this.args;
    if (this.center && this.runResults >= options.initialSamples) {
      const fresh = neighbours(space, this.center.architecture, this.rng).filter((a) => !this.seen.has(space.hash(a)));
      if (fresh.length > 0) return { architecture: this.rng.pick(fresh), parentId: this.center.trialId };
      if (this.pending.size === 0) {
        // A local optimum: every neighbour is known and none is better. Restart elsewhere.
        this.center = null;
        this.runResults = 0;
        this.runs++;
      }
    }
    const architecture = sampleUnseen(space, this.rng, this.seen, options.maxTries);
    return architecture && { architecture };
  }
}
