/**
 * Regularized (aging) evolution (Real et al. 2019, "Regularized Evolution for Image Classifier Architecture
 * Search", algorithm 1), asynchronous as in the paper: every finished trial lets the orchestrator ask for a child.
 *
 * - The population is the last `populationSize` finished trials with a score, in the order they were told. A new
 *   member pushes out the *oldest* one, not the worst: every architecture has to keep being re-discovered to stay,
 *   which the paper found regularises against lucky, noisy evaluations.
 * - Until the population is full, proposals are the `seedArchitectures` (warm start) and then uniform samples.
 * - A child: sample `sampleSize` members uniformly (with replacement, as in the paper), take the one with the best
 *   score, change exactly one decision with `space.mutate`. Its `parentId` is the parent's trial id.
 * - An architecture already proposed in this search is re-mutated (up to `maxDuplicateTries` times) so that the
 *   trial budget is not spent on repeats; after that the duplicate is proposed anyway, since a search must not stall.
 *
 * Failed trials (score null) never enter the population. Pruned trials (multi-fidelity) do, with the score they
 * reached: they were pruned because that score was low, which is what the tournament should see.
 */
import { z } from "zod";
import type { EvolutionOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { architectureSchema, type Architecture } from "../spaces/definition.js";
import { sampleUnseen } from "./sample-unseen.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";


type Options = EvolutionOptions;

const memberSchema = z.object({ trialId: z.string(), architecture: architectureSchema, score: z.number() });
type Member = z.infer<typeof memberSchema>;

const stateSchema = z.object({
  rng: rngStateSchema,
  population: z.array(memberSchema),
  /** Hashes of every architecture proposed so far. */
  seen: z.array(z.string()),
  /** How many seed architectures have been proposed. */
  seedsUsed: z.number().int().min(0),
});
type EvolutionState = z.infer<typeof stateSchema>;

export class EvolutionStrategy implements Strategy {
  private rng: Rng;
  private population: Member[] = [];
  private seen = new Set<string>();
  private seedsUsed = 0;

  constructor(private readonly args: StrategyArgs<Options>) {
    // Checked here rather than with a zod refinement, which would stop the registry from extending the schema.
    if (args.options.sampleSize > args.options.populationSize) {
      throw new RangeError(`evolution: sampleSize (${args.options.sampleSize}) must be ≤ populationSize (${args.options.populationSize})`);
    }
    this.rng = new Rng(args.seed);
  }

  ask(n: number): Proposal[] {
    const out: Proposal[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.propose();
      if (!p) break;
      out.push(p);
    }
    return out;
  }

  tell(results: readonly TrialResult[]): void {
    const { populationSize } = this.args.options;
    for (const r of results) {
      if (r.score === null || !Number.isFinite(r.score)) continue;
      this.population.push({ trialId: r.trialId, architecture: r.architecture, score: r.score });
      // Aging: the oldest member dies, whatever its score.
      if (this.population.length > populationSize) this.population.shift();
    }
  }

  state(): JsonValue {
    const s: EvolutionState = { rng: this.rng.state(), population: this.population, seen: [...this.seen], seedsUsed: this.seedsUsed };
    return s as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "evolution strategy");
    this.rng = new Rng(s.rng);
    this.population = s.population.map((m) => ({ ...m }));
    this.seen = new Set(s.seen);
    this.seedsUsed = s.seedsUsed;
  }

  private propose(): Proposal | undefined {
    const { space, options } = this.args;
    const seeds = options.seedArchitectures ?? [];
    while (this.seedsUsed < seeds.length) {
      const architecture = seeds[this.seedsUsed++] as Architecture;
      // The options schema cannot check a seed against the space; an invalid one is skipped rather than failing the search.
      if (!space.isValid(architecture)) continue;
      const canonical = space.canonical(architecture);
      if (this.remember(canonical)) return { architecture: canonical };
    }
    if (this.population.length < options.populationSize) return this.randomProposal();

    let child: Architecture | undefined;
    let parent: Member | undefined;
    for (let i = 0; i < options.maxDuplicateTries; i++) {
      parent = this.tournament();
      child = space.mutate(parent.architecture, this.rng).architecture;
      if (!this.seen.has(space.hash(child))) break;
    }
    this.remember(child!);
    return { architecture: child!, parentId: parent!.trialId };
  }

  /** A uniform sample not yet proposed (or, when none is found in time, nothing: the space is nearly exhausted). */
  private randomProposal(): Proposal | undefined {
    const architecture = sampleUnseen(this.args.space, this.rng, this.seen, this.args.options.maxDuplicateTries);
    return architecture && this.remember(architecture) ? { architecture } : undefined;
  }

  /** Best of `sampleSize` members drawn uniformly with replacement; the earlier (older) one wins ties. */
  private tournament(): Member {
    let best: Member | undefined;
    for (let i = 0; i < this.args.options.sampleSize; i++) {
      const m = this.rng.pick(this.population);
      if (!best || m.score > best.score) best = m;
    }
    return best!;
  }

  /** Records an architecture as proposed; false if it already was. */
  private remember(architecture: Architecture): boolean {
    const hash = this.args.space.hash(architecture);
    if (this.seen.has(hash)) return false;
    this.seen.add(hash);
    return true;
  }
}
