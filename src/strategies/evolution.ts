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
 *
 * Several objectives, or constraints (NSGA-II's ranking, Deb et al. 2002, inside the aging population): when trials
 * carry a vector of scores or a constraint violation, the tournament's winner is the member of the lowest
 * non-domination rank within the population (constrained domination: feasible before infeasible, less violation
 * before more), then the largest crowding distance (spread along the front), then the oldest. Aging is unchanged:
 * the oldest member dies, whatever its rank. With one objective and no violation this is exactly the tournament
 * above. Children (and random samples) that break the search's constraints on costs known before training are
 * never proposed: the mutation is tried again (or a feasible random sample taken).
 */
import { z } from "zod";
import type { EvolutionOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { rankAndCrowding } from "../core/pareto.js";
import { architectureSchema, type Architecture } from "../spaces/definition.js";
import { sampleUnseen } from "./sample-unseen.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";


type Options = EvolutionOptions;

const memberSchema = z.object({
  trialId: z.string(),
  architecture: architectureSchema,
  score: z.number(),
  /** Several objectives: every oriented score (`score` is the first). */
  scores: z.array(z.number()).optional(),
  /** An infeasible member: how much it breaks the search's constraints (> 0). */
  violation: z.number().positive().optional(),
});
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
  /** NSGA-II rank and crowding distance of each member, when ranking by several objectives or constraints. */
  private ranking: { rank: number[]; crowding: number[] } | null | undefined;

  constructor(private readonly args: StrategyArgs<Options>) {
    // Checked here rather than with a zod refinement, which would stop the registry from extending the schema.
    if (args.options.sampleSize > args.options.populationSize) {
      throw new RangeError(`evolution: sampleSize (${args.options.sampleSize}) must be ≤ populationSize (${args.options.populationSize})`);
    }
    this.rng = new Rng(args.seed);
  }

  ask(n: number): Proposal[] {
    const out: Proposal[] = [];
    this.ranking = undefined; // the population changed since the last ask (tell)
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
      const member = memberOf(r);
      if (!member) continue;
      this.population.push(member);
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

    const feasible = this.args.feasible ?? (() => true);
    // A fresh feasible child; failing that, the last feasible duplicate (a search must not stall); failing that (every
    // mutation broke a constraint), a feasible random sample.
    let duplicate: { child: Architecture; parent: Member } | undefined;
    for (let i = 0; i < options.maxDuplicateTries; i++) {
      const parent = this.tournament();
      const child = space.mutate(parent.architecture, this.rng).architecture;
      if (!feasible(child)) continue;
      if (!this.seen.has(space.hash(child))) {
        this.remember(child);
        return { architecture: child, parentId: parent.trialId };
      }
      duplicate = { child, parent };
    }
    if (!duplicate) return this.randomProposal();
    this.remember(duplicate.child);
    return { architecture: duplicate.child, parentId: duplicate.parent.trialId };
  }

  /** A uniform sample not yet proposed (or, when none is found in time, nothing: the space is nearly exhausted). */
  private randomProposal(): Proposal | undefined {
    const architecture = sampleUnseen(this.args.space, this.rng, this.seen, this.args.options.maxDuplicateTries, this.args.feasible);
    return architecture && this.remember(architecture) ? { architecture } : undefined;
  }

  /**
   * Best of `sampleSize` members drawn uniformly with replacement; the earlier (older) one wins ties. Best: the
   * higher score, or, ranking by several objectives or constraints, the lower rank, then the larger crowding distance.
   */
  private tournament(): Member {
    if (this.ranking === undefined) this.ranking = rankingOf(this.population);
    const ranking = this.ranking;
    let best = -1;
    for (let i = 0; i < this.args.options.sampleSize; i++) {
      const k = this.rng.int(this.population.length);
      if (best < 0 || (ranking ? better(ranking, k, best) : this.population[k]!.score > this.population[best]!.score)) best = k;
    }
    return this.population[best]!;
  }

  /** Records an architecture as proposed; false if it already was. */
  private remember(architecture: Architecture): boolean {
    const hash = this.args.space.hash(architecture);
    if (this.seen.has(hash)) return false;
    this.seen.add(hash);
    return true;
  }
}

/** A told trial as a member, or undefined when it has nothing to rank by (failed). */
function memberOf(r: TrialResult): Member | undefined {
  const violation = r.violation ?? 0;
  const scores = r.scores === undefined ? (r.score === null ? null : [r.score]) : r.scores;
  const usable = scores !== null && scores.length > 0 && scores.every(Number.isFinite);
  if (violation > 0) {
    // Ranked by how much it breaks the constraints; its scores, when known, spread the members that break them equally.
    return { trialId: r.trialId, architecture: r.architecture, score: usable ? scores[0]! : 0, ...(usable && scores.length > 1 ? { scores } : {}), violation };
  }
  if (!usable) return undefined;
  return { trialId: r.trialId, architecture: r.architecture, score: scores[0]!, ...(scores.length > 1 ? { scores } : {}) };
}

/** NSGA-II ranking of the population, or null when plain scores rank it (one objective, every member feasible). */
function rankingOf(population: readonly Member[]): { rank: number[]; crowding: number[] } | null {
  if (!population.some((m) => m.scores !== undefined || m.violation !== undefined)) return null;
  const width = Math.max(...population.map((m) => m.scores?.length ?? 1));
  // Infeasible members without every score are only ever compared by violation; pad them for the crowding sums.
  return rankAndCrowding(population.map((m) => ({ scores: padded(m.scores ?? [m.score], width), violation: m.violation ?? 0 })));
}

function padded(scores: readonly number[], width: number): number[] {
  return scores.length >= width ? [...scores] : [...scores, ...new Array<number>(width - scores.length).fill(0)];
}

/** Member a beats member b: lower rank, then larger crowding distance (ties: neither, so the older stays). */
function better(ranking: { rank: number[]; crowding: number[] }, a: number, b: number): boolean {
  if (ranking.rank[a] !== ranking.rank[b]) return ranking.rank[a]! < ranking.rank[b]!;
  return ranking.crowding[a]! > ranking.crowding[b]!;
}
