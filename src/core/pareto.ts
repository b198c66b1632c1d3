/**
 * Pareto arithmetic for multi-objective search: dominance (plain and constrained), non-dominated sorting and crowding
 * distance (NSGA-II, Deb et al. 2002), and the hypervolume of a set of points against a reference point.
 *
 * Convention: every objective is oriented so that HIGHER IS BETTER (a minimised metric enters as −value), as a
 * strategy's `score` is. A point is a vector of such scores. A point may carry a constraint `violation` ≥ 0 (0 or
 * absent: feasible); constrained domination (Deb 2000) ranks any feasible point above any infeasible one, and an
 * infeasible one above another when it violates less.
 *
 * Here rather than in src/strategies/ because the API (pareto routes, a search's hypervolume) and the benchmarks use it
 * too, and the API may not import strategies: this file imports nothing.
 */

/** A point to rank: its oriented scores and, if it breaks a constraint, by how much (> 0). */
export interface RankedPoint {
  scores: readonly number[];
  violation?: number;
}

/** a Pareto-dominates b: at least as good in every objective and better in one (higher is better). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return false;
    if (a[i]! > b[i]!) better = true;
  }
  return better;
}

/** Constrained domination: feasible beats infeasible, less violation beats more, else Pareto dominance. */
export function constrainedDominates(a: RankedPoint, b: RankedPoint): boolean {
  const va = a.violation ?? 0;
  const vb = b.violation ?? 0;
  if (va > 0 || vb > 0) return va < vb;
  return dominates(a.scores, b.scores);
}

/**
 * Fast non-dominated sorting: the fronts F1, F2, … as lists of indices into `points`, F1 the non-dominated ones (under
 * constrained domination), F2 those dominated only by F1, and so on. Every index appears in exactly one front;
 * within a front indices keep their order. O(M·N²).
 */
export function nonDominatedSort(points: readonly RankedPoint[]): number[][] {
  const n = points.length;
  const dominatedBy = new Array<number>(n).fill(0);
  const dominating: number[][] = points.map(() => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (constrainedDominates(points[i]!, points[j]!)) {
        dominating[i]!.push(j);
        dominatedBy[j]!++;
      } else if (constrainedDominates(points[j]!, points[i]!)) {
        dominating[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  }
  const fronts: number[][] = [];
  let current = [...Array(n).keys()].filter((i) => dominatedBy[i] === 0);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominating[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    }
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/** The indices of the non-dominated points (the first front). */
export function paretoFront(points: readonly RankedPoint[]): number[] {
  return nonDominatedSort(points)[0] ?? [];
}

/**
 * Crowding distance of each member of one front (NSGA-II): for every objective, the members are sorted and each
 * gets the normalised gap between its two neighbours; the two extremes get Infinity, so they are always preferred.
 * Returned in the order of `front`. An objective on which the whole front is equal adds nothing.
 */
export function crowdingDistance(points: readonly RankedPoint[], front: readonly number[]): number[] {
  const distance = new Array<number>(front.length).fill(0);
  if (front.length === 0) return distance;
  const objectives = points[front[0]!]!.scores.length;
  for (let m = 0; m < objectives; m++) {
    const order = [...front.keys()].sort((a, b) => points[front[a]!]!.scores[m]! - points[front[b]!]!.scores[m]! || a - b);
    const lo = points[front[order[0]!]!]!.scores[m]!;
    const hi = points[front[order[order.length - 1]!]!]!.scores[m]!;
    distance[order[0]!] = Infinity;
    distance[order[order.length - 1]!] = Infinity;
    if (hi === lo) continue;
    for (let k = 1; k < order.length - 1; k++) {
      const gap = points[front[order[k + 1]!]!]!.scores[m]! - points[front[order[k - 1]!]!]!.scores[m]!;
      distance[order[k]!]! += gap / (hi - lo);
    }
  }
  return distance;
}

/**
 * Rank and crowding distance of every point: `rank[i]` is the index of i's front (0 = non-dominated), `crowding[i]`
 * its crowding distance within that front. NSGA-II prefers a lower rank, then a larger crowding distance.
 */
export function rankAndCrowding(points: readonly RankedPoint[]): { rank: number[]; crowding: number[] } {
  const rank = new Array<number>(points.length).fill(0);
  const crowding = new Array<number>(points.length).fill(0);
  nonDominatedSort(points).forEach((front, r) => {
    const d = crowdingDistance(points, front);
    front.forEach((i, k) => {
      rank[i] = r;
      crowding[i] = d[k]!;
    });
  });
  return { rank, crowding };
}

/**
 * Hypervolume (Lebesgue measure) of the region dominated by `points` and bounded by `reference` (higher is better:
 * the union of the boxes [reference, p]). Points that are not strictly better than the reference in every objective
 * add nothing. Exact: a sweep for two objectives, slicing along the last objective for more (HSO, While et al. 2006),
 * which is exponential in the number of objectives but fine for the few a search has.
 */
export function hypervolume(points: ReadonlyArray<readonly number[]>, reference: readonly number[]): number {
  const d = reference.length;
  const inside = points.filter((p) => p.length === d && p.every((v, i) => v > reference[i]!));
  if (inside.length === 0) return 0;
  if (d === 1) return Math.max(...inside.map((p) => p[0]!)) - reference[0]!;
  if (d === 2) return hypervolume2d(inside, reference);
  // Slices between consecutive values of the last objective, best first: each slice's (d−1)-volume is that of the
  // points at least that good in the last objective.
  const sorted = [...inside].sort((a, b) => b[d - 1]! - a[d - 1]!);
  const ref = reference.slice(0, d - 1);
  let volume = 0;
  for (let k = 0; k < sorted.length; k++) {
    const top = sorted[k]![d - 1]!;
    const bottom = k + 1 < sorted.length ? sorted[k + 1]![d - 1]! : reference[d - 1]!;
    if (top === bottom) continue;
    volume += (top - bottom) * hypervolume(sorted.slice(0, k + 1).map((p) => p.slice(0, d - 1)), ref);
  }
  return volume;
}

/** Two objectives: sort by the first, best first, and add the strip each point adds in the second. */
function hypervolume2d(points: ReadonlyArray<readonly number[]>, reference: readonly number[]): number {
  const sorted = [...points].sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]!);
  let volume = 0;
  let covered = reference[1]!;
  for (const p of sorted) {
    if (p[1]! <= covered) continue; // dominated by a point already counted
    volume += (p[0]! - reference[0]!) * (p[1]! - covered);
    covered = p[1]!;
  }
  return volume;
}
