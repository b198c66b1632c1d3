/**
 * Kernel ridge regression: α = (K + λI)⁻¹ (y − ȳ), prediction ȳ + k(x)ᵀα. It is ridge regression on the
 * kernel's feature map without building the features, which matters for the predictor's pairwise one-hot
 * encoding (hundreds of columns, but only a few hundred results to fit): the solve is O(N³) in the results.
 */
export class KernelRidge {
  private constructor(
    private readonly alpha: Float64Array,
    readonly intercept: number,
  ) {}

  /** `gram[i][j]` = k(x_i, x_j) of the training rows; `lambda` > 0 keeps the system well conditioned. */
  static fit(gram: readonly Float64Array[], y: readonly number[], lambda: number): KernelRidge {
    const n = y.length;
    const mean = y.reduce((a, b) => a + b, 0) / Math.max(1, n);
    const a = gram.map((row, i) => {
      const r = new Float64Array(n + 1);
      r.set(row.subarray(0, n));
      r[i]! += lambda;
      r[n] = y[i]! - mean;
      return r;
    });
    return new KernelRidge(solve(a, n), mean);
  }

  /** `k[i]` = k(x, x_i) for the training rows, in their order. */
  predict(k: ArrayLike<number>): number {
    let s = this.intercept;
    for (let i = 0; i < this.alpha.length; i++) s += this.alpha[i]! * k[i]!;
    return s;
  }
}

/** Gaussian elimination with partial pivoting on the augmented matrix [A | b] (n × (n+1)). */
function solve(a: Float64Array[], n: number): Float64Array {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const f = row[col]! / p[col]!;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) row[c]! -= f * p[c]!;
    }
  }
  const w = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= a[r]![c]! * w[c]!;
    w[r] = s / a[r]![r]!;
  }
  return w;
}
