/**
 * Pareto arithmetic (src/core/pareto.ts) against fronts, crowding distances and hypervolumes computed by hand, and
 * the general hypervolume against inclusion–exclusion on random sets; the objective helpers of the catalogue
 * (src/catalogue/objectives.ts): score vectors, constraint violation, reference points and the front of a search.
 */
import { describe, expect, it } from "vitest";
import { constrainedDominates, crowdingDistance, dominates, hypervolume, nonDominatedSort, paretoFront, rankAndCrowding } from "../../src/core/pareto.js";
import { Rng } from "../../src/core/rng.js";
import { constraintViolation, MISSING_VIOLATION, paretoSummary, referencePoint, scoreVector, toldObjectives, type ObjectiveSpec } from "../../src/catalogue/objectives.js";

const pts = (xs: number[][]) => xs.map((scores) => ({ scores }));

/** Volume of the union of boxes [ref, p] by inclusion–exclusion over every subset (exact, exponential). */
function inclusionExclusion(points: number[][], ref: number[]): number {
  let total = 0;
  for (let mask = 1; mask < 1 << points.length; mask++) {
    const chosen = points.filter((_, i) => mask & (1 << i));
    const corner = ref.map((_, d) => Math.min(...chosen.map((p) => p[d]!)));
    const volume = corner.reduce((v, c, d) => v * Math.max(0, c - ref[d]!), 1);
    total += (chosen.length % 2 === 1 ? 1 : -1) * volume;
  }
  return total;
}

describe("dominance", () => {
  it("is at least as good everywhere and better somewhere (higher is better)", () => {
    expect(dominates([2, 2], [1, 2])).toBe(true);
    expect(dominates([2, 2], [2, 2])).toBe(false);
    expect(dominates([3, 1], [1, 3])).toBe(false);
    expect(dominates([1, 3], [3, 1])).toBe(false);
  });

  it("constrained: feasible beats infeasible whatever the scores, then less violation, then Pareto", () => {
    expect(constrainedDominates({ scores: [0, 0] }, { scores: [9, 9], violation: 0.1 })).toBe(true);
    expect(constrainedDominates({ scores: [9, 9], violation: 0.1 }, { scores: [0, 0] })).toBe(false);
    expect(constrainedDominates({ scores: [0, 0], violation: 0.1 }, { scores: [9, 9], violation: 0.2 })).toBe(true);
    expect(constrainedDominates({ scores: [9, 9], violation: 0.2 }, { scores: [0, 0], violation: 0.2 })).toBe(false);
    expect(constrainedDominates({ scores: [2, 2], violation: 0 }, { scores: [1, 1] })).toBe(true);
  });
});

describe("non-dominated sorting", () => {
  // A(1,5) B(2,4) C(3,3) F(3,3) are mutually non-dominated; D(2,2) is dominated by B and C only; E(1,1) by everything.
  const A = [1, 5], B = [2, 4], C = [3, 3], D = [2, 2], E = [1, 1], F = [3, 3];

  it("finds the fronts of a hand-drawn set", () => {
    expect(nonDominatedSort(pts([A, B, C, D, E, F]))).toEqual([[0, 1, 2, 5], [3], [4]]);
    expect(paretoFront(pts([E, D, C]))).toEqual([2]);
    expect(nonDominatedSort([])).toEqual([]);
  });

  it("ranks infeasible points behind every feasible one, by violation", () => {
    const fronts = nonDominatedSort([{ scores: [9, 9], violation: 2 }, { scores: [0, 0] }, { scores: [5, 5], violation: 1 }, { scores: [1, -1] }]);
    expect(fronts).toEqual([[1, 3], [2], [0]]);
  });

  it("gives crowding distance ∞ to the extremes and the normalised neighbour gaps to the rest", () => {
    // Front A, B, C: B's neighbours span the whole range in both objectives: 1 + 1.
    expect(crowdingDistance(pts([A, B, C]), [0, 1, 2])).toEqual([Infinity, 2, Infinity]);
    // Four points on x + y = 6: (0,6) (1,5) (4,2) (6,0): x-range 6, y-range 6; (1,5): (4−0)/6 + (6−2)/6; (4,2): (6−1)/6 + (5−0)/6.
    const d = crowdingDistance(pts([[0, 6], [1, 5], [4, 2], [6, 0]]), [0, 1, 2, 3]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    expect(d[1]).toBeCloseTo(8 / 6, 12);
    expect(d[2]).toBeCloseTo(10 / 6, 12);
    // A front that is equal in one objective: that objective adds nothing.
    expect(crowdingDistance(pts([[1, 0], [2, 0], [3, 0]]), [0, 1, 2])).toEqual([Infinity, 1, Infinity]);
  });

  it("rank and crowding together", () => {
    const { rank, crowding } = rankAndCrowding(pts([A, B, C, D, E]));
    expect(rank).toEqual([0, 0, 0, 1, 2]);
    expect(crowding.slice(0, 3)).toEqual([Infinity, 2, Infinity]);
  });
});

describe("hypervolume", () => {
  it("two objectives: the staircase by hand", () => {
    // C(3,3): 9, B adds 2 × (4 − 3) = 2, A adds 1 × (5 − 4) = 1; dominated D, E add nothing.
    expect(hypervolume([[1, 5], [2, 4], [3, 3], [2, 2], [1, 1]], [0, 0])).toBe(12);
    expect(hypervolume([[1, 5], [2, 4], [3, 3]], [1, 1])).toBe(2 * 2 + 1 * 1);
    // Points not strictly better than the reference in every objective add nothing.
    expect(hypervolume([[5, 0], [0, 5]], [0, 0])).toBe(0);
    expect(hypervolume([], [0, 0])).toBe(0);
  });

  it("one and three objectives by hand", () => {
    expect(hypervolume([[3], [5]], [1])).toBe(4);
    expect(hypervolume([[1, 1, 1]], [0, 0, 0])).toBe(1);
    // Three boxes of volume 3 that overlap pairwise and all together in the unit cube: 9 − 3 + 1.
    expect(hypervolume([[3, 1, 1], [1, 3, 1], [1, 1, 3]], [0, 0, 0])).toBe(7);
  });

  it("equals inclusion–exclusion on random sets of 2, 3 and 4 objectives", () => {
    const rng = new Rng(4);
    for (const d of [2, 3, 4]) {
      for (let trial = 0; trial < 30; trial++) {
        const n = 1 + rng.int(8);
        const points = Array.from({ length: n }, () => Array.from({ length: d }, () => Math.round(rng.next() * 10) / 2));
        const ref = Array.from({ length: d }, () => rng.next() - 0.5);
        expect(hypervolume(points, ref)).toBeCloseTo(inclusionExclusion(points, ref), 9);
      }
    }
  });
});

describe("objectives of a search (catalogue)", () => {
  const spec: ObjectiveSpec = {
    objectives: [
      { metric: "val_bpc", direction: "minimize" },
      { metric: "params", direction: "minimize" },
    ],
    constraints: [{ metric: "params", max: 1000 }, { metric: "tokens_per_second", min: 50 }],
    referencePoint: null,
  };

  it("orients scores so that higher is better; a missing objective gives no vector", () => {
    expect(scoreVector(spec.objectives, { val_bpc: 2.5, params: 800 })).toEqual([-2.5, -800]);
    expect(scoreVector(spec.objectives, { val_bpc: 2.5 })).toBeNull();
    expect(scoreVector([{ metric: "test_accuracy", direction: "maximize" }], { test_accuracy: 93 })).toEqual([93]);
  });

  it("measures constraint violation relative to each bound, a missing metric worst", () => {
    expect(constraintViolation(spec.constraints, { params: 1000, tokens_per_second: 50 })).toBe(0);
    expect(constraintViolation(spec.constraints, { params: 1500, tokens_per_second: 50 })).toBeCloseTo(0.5);
    expect(constraintViolation(spec.constraints, { params: 1500, tokens_per_second: 25 })).toBeCloseTo(1);
    expect(constraintViolation(spec.constraints, { params: 10 })).toBe(MISSING_VIOLATION);
    expect(constraintViolation(spec.constraints, { params: 1500 }, ["params"])).toBeCloseTo(0.5);
    expect(constraintViolation([{ metric: "x", min: 0 }], { x: -2 })).toBe(2);
  });

  it("tells a strategy the scores and the violation, the stored objective as the primary value", () => {
    expect(toldObjectives(spec, { val_bpc: 9, params: 800, tokens_per_second: 100 }, 2.5)).toEqual({ scores: [-2.5, -800], violation: 0 });
    expect(toldObjectives(spec, {}, null)).toEqual({ scores: null });
    expect(toldObjectives({ ...spec, objectives: spec.objectives.slice(0, 1), constraints: [] }, {}, 1)).toEqual({});
  });

  it("derives the reference point: declared, else a constraint's worse bound, else the worst value 10 % of the range further", () => {
    const observed = [[2, 100], [3, 600], [2.5, 300]];
    expect(referencePoint({ ...spec, referencePoint: [4, 2000] }, observed)).toEqual([4, 2000]);
    const derived = referencePoint(spec, observed)!;
    expect(derived[0]).toBeCloseTo(3.1, 12); // worst val_bpc 3 + 10 % of (3 − 2)
    expect(derived[1]).toBe(1000); // the constraint params ≤ 1000
    const maximize = referencePoint({ objectives: [{ metric: "acc", direction: "maximize" }, { metric: "f", direction: "minimize" }], constraints: [], referencePoint: null }, [[90, 10], [80, 30]])!;
    expect(maximize[0]).toBeCloseTo(79, 12);
    expect(maximize[1]).toBeCloseTo(32, 12);
    expect(referencePoint(spec, [])).toBeNull();
  });

  it("a search's front leaves out infeasible trials and measures its hypervolume in oriented units", () => {
    const candidates = [
      { values: [2, 900], violation: 0 }, // on the front
      { values: [3, 100], violation: 0 }, // on the front
      { values: [3, 900], violation: 0 }, // dominated by both
      { values: [1, 2000], violation: 1 }, // best val_bpc but breaks params ≤ 1000
    ];
    const summary = paretoSummary({ ...spec, referencePoint: [4, 1000] }, candidates);
    expect(summary.front.sort()).toEqual([0, 1]);
    // Minimising both from (4, 1000): (2, 900) covers 2 × 100, (3, 100) covers 1 × 900, overlap 1 × 100.
    expect(summary.hypervolume).toBeCloseTo(200 + 900 - 100, 9);
  });
});
