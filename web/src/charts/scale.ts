/** Colour for an objective: worst → best along viridis' three anchors, so "better" reads the same in every view. */
const ANCHORS: Array<[number, number, number]> = [
  [68, 1, 84],
  [33, 145, 140],
  [253, 231, 37],
];

export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (ANCHORS.length - 1);
  const i = Math.min(ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [ANCHORS[i]!, ANCHORS[i + 1]!];
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Maps an objective to [0, 1], 1 the best, by its rank among `values` (so colours and rankings agree for minimised
 * metrics, and a few outliers, common in NAS-Bench-201, do not squash every other trial into one colour).
 */
export function goodness(values: number[], direction: "minimize" | "maximize"): (v: number) => number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  return (v) => {
    if (n < 2) return 1;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    const f = Math.min(lo, n - 1) / (n - 1);
    return direction === "maximize" ? f : 1 - f;
  };
}

export const fmt = (v: number | null | undefined, digits = 4): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
};
