/**
 * Multi-objective and constrained search in the strategies: evolution's NSGA-II tournament inside the aging
 * population (rank, then crowding distance; aging unchanged; one objective exactly as before) and the feasibility
 * filter of random search and evolution for constraints on costs known before training.
 */
import { describe, expect, it } from "vitest";
import { createStrategy } from "../../src/strategies/registry.js";
import { sampleUnseen } from "../../src/strategies/sample-unseen.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { Rng } from "../../src/core/rng.js";
import type { Proposal, Strategy, TrialResult } from "../../src/strategies/strategy.js";
import { nb201, objective, roundTrip } from "./strategies-helpers.js";

const told = (trialId: string, architecture: Architecture, scores: number[] | null, violation = 0): TrialResult => ({
  trialId,
  architecture,
  status: scores === null ? "failed" : "completed",
  objective: scores?.[0] ?? null,
  score: violation > 0 || scores === null ? null : scores[0]!,
  metrics: {},
  parentId: null,
  scores,
  ...(violation > 0 ? { violation } : {}),
});

const populationOf = (s: Strategy) => (s.state() as { population: Array<{ trialId: string; scores?: number[]; violation?: number }> }).population;

/**
 * The parent of the first child of `runs` searches (seeds 0…runs−1) whose first four trials were told `scores` in
 * order: independent tournaments over the same population (a long run of one search would exhaust the
 * one-decision neighbourhoods of the winners, and the duplicate retries would then favour the others).
 */
async function parentsOf(options: { populationSize: number; sampleSize: number }, results: Array<[string, number[], number?]>, runs = 300): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let seed = 0; seed < runs; seed++) {
    const s = createStrategy({ type: "evolution", ...options }, nb201, seed);
    const first = await s.ask(results.length);
    await s.tell(results.map(([id, scores, violation], i) => told(id, first[i]!.architecture, scores, violation)));
    const [child] = await s.ask(1);
    counts.set(child!.parentId!, (counts.get(child!.parentId!) ?? 0) + 1);
  }
  return counts;
}

describe("evolution with several objectives (NSGA-II tournament in the aging population)", () => {
  it("never lets a dominated member win while a non-dominated one is drawn, and spreads over the front", async () => {
    // a and c are the front's extremes, b is in between, d is dominated by b.
    const parents = await parentsOf({ populationSize: 4, sampleSize: 4 }, [["a", [10, 0]], ["b", [5, 5]], ["c", [0, 10]], ["d", [4, 4]]]);
    // d wins only when all 4 draws are d: (1/4)^4 of the tournaments, about 1 in 300.
    expect(parents.get("d") ?? 0).toBeLessThan(6);
    // The extremes (infinite crowding distance) beat b whenever drawn with it: b wins only draws of b and d alone.
    expect(parents.get("a")!).toBeGreaterThan(2 * parents.get("b")!);
    expect(parents.get("c")!).toBeGreaterThan(2 * parents.get("b")!);
    expect(parents.get("b")!).toBeGreaterThan(0);
  });

  it("ranks infeasible members behind feasible ones, less violation first; aging still removes the oldest", async () => {
    const results: Array<[string, number[], number?]> = [["best-but-infeasible", [99, 99], 0.5], ["feasible", [1, 1]], ["slightly-infeasible", [50, 50], 0.1]];
    const parents = await parentsOf({ populationSize: 3, sampleSize: 3 }, results);
    // The feasible member wins every tournament it is drawn in: 1 − (2/3)^3 ≈ 70 %; the worse violation only alone (1/27).
    expect(parents.get("feasible")!).toBeGreaterThan(180);
    expect(parents.get("best-but-infeasible") ?? 0).toBeLessThan(30);
    const s = createStrategy({ type: "evolution", populationSize: 3, sampleSize: 3 }, nb201, 2);
    const first = await s.ask(4);
    await s.tell(results.map(([id, scores, violation], i) => told(id, first[i]!.architecture, scores, violation)));
    expect(populationOf(s).map((m) => [m.trialId, m.violation])).toEqual([["best-but-infeasible", 0.5], ["feasible", undefined], ["slightly-infeasible", 0.1]]);
    await s.tell([told("e", first[3]!.architecture, [0, 0])]);
    expect(populationOf(s).map((m) => m.trialId)).toEqual(["feasible", "slightly-infeasible", "e"]);
  });

  it("a failed trial (no scores) never enters; one objective as a vector of one proposes exactly as a plain score", async () => {
    const plain = createStrategy({ type: "evolution", populationSize: 5, sampleSize: 3 }, nb201, 3);
    const vector = createStrategy({ type: "evolution", populationSize: 5, sampleSize: 3 }, nb201, 3);
    for (let round = 0; round < 8; round++) {
      const a = await plain.ask(3);
      expect(roundTrip(await vector.ask(3))).toEqual(roundTrip(a));
      const scores = a.map((p) => objective(nb201, p.architecture));
      await plain.tell(a.map((p, i) => ({ ...told(`r${round}-${i}`, p.architecture, [scores[i]!]), scores: undefined })));
      await vector.tell(a.map((p, i) => told(`r${round}-${i}`, p.architecture, [scores[i]!])));
    }
    expect(roundTrip(vector.state())).toEqual(roundTrip(plain.state()));
    await vector.tell([told("x", nb201.sample(new Rng(1)), null)]);
    expect(populationOf(vector).map((m) => m.trialId)).not.toContain("x");
  });
});

describe("constraints on costs known before training", () => {
  // Feasible: no 3×3 convolution on the edges from the cell's input (about half the space).
  const feasible = (a: Architecture) => ![a.node1_from0, a.node2_from0, a.node3_from0].includes("nor_conv_3x3");

  it.each(["random", "evolution"])("%s proposes only feasible architectures, children and samples alike", async (type) => {
    const s = createStrategy({ type, ...(type === "evolution" ? { populationSize: 5, sampleSize: 3 } : {}) }, nb201, 4, null, { feasible });
    const all: Proposal[] = [];
    for (let round = 0; round < 20; round++) {
      const proposals = await s.ask(4);
      all.push(...proposals);
      await s.tell(proposals.map((p, i) => told(`t${round}-${i}`, p.architecture, [objective(nb201, p.architecture), -objective(nb201, { ...p.architecture, x: 1 })])));
    }
    expect(all).toHaveLength(80);
    expect(all.every((p) => feasible(p.architecture))).toBe(true);
    if (type === "evolution") expect(all.filter((p) => p.parentId).length).toBeGreaterThan(40);
  });

  it("sampling gives up (undefined) on a space with no feasible architecture instead of looping", () => {
    expect(sampleUnseen(nb201, new Rng(5), new Set(), 10, () => false)).toBeUndefined();
    const s = createStrategy({ type: "random" }, nb201, 5, null, { feasible: () => false });
    expect(s.ask(3)).toEqual([]);
  });
});
