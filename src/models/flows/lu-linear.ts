/**
 * Learned invertible linear layer with an LU parametrisation (Glow's invertible 1×1 convolution, Kingma &
 * Dhariwal 2018, §3.2), written as a matMul over the feature dimension (a 1×1 convolution is exactly that, and
 * `Conv2DBackpropFilter` is missing on wasm):
 *   z = x · W,   W = P · L · U,
 * P a fixed random permutation matrix, L unit lower-triangular, U upper-triangular with diagonal sign ⊙ exp(d).
 * All trainable numbers live in ONE [D, D] variable `packed`, as LAPACK packs an LU factorisation: its strict
 * lower part is L's, its strict upper part U's, and its diagonal d the log|diag U|. So the layer has exactly D²
 * parameters, like an unconstrained linear map, and log|det W| = Σ d (cheap, for every example).
 * L and U are cut out with constant 0/1 masks (`linalg.bandPart` has no working gradient on trainable tensors).
 * tfjs has no matrix inverse, so `inverse` inverts the small triangular factors in plain JS.
 */
import * as tf from "@tensorflow/tfjs-core";
import { normalValues, randomPermutation, type Rng } from "./random.js";
import type { Transform, TransformOutput } from "./transform.js";

export class LULinear implements Transform {
  readonly name = "lu-linear";
  readonly packed: tf.Variable;
  private readonly perm: number[];
  private readonly permMatrix: tf.Tensor2D;
  private readonly strictLower: tf.Tensor2D;
  private readonly strictUpper: tf.Tensor2D;
  private readonly eye: tf.Tensor2D;
  private readonly sign: tf.Tensor1D;

  constructor(
    readonly dim: number,
    rng: Rng,
  ) {
    const d = dim;
    this.perm = randomPermutation(rng, d);
    // Off-diagonal entries start small and random, the diagonal at 0 (|diag U| = 1): W starts near P.
    const init = normalValues(rng, [d, d], 0.05 / Math.sqrt(d));
    for (let i = 0; i < d; i++) init[i * d + i] = 0;
    this.packed = tf.tidy(() => tf.variable(tf.tensor2d(init, [d, d]), true));
    const lower = new Float32Array(d * d);
    const upper = new Float32Array(d * d);
    const pm = new Float32Array(d * d);
    for (let i = 0; i < d; i++) {
      pm[i * d + this.perm[i]!] = 1;
      for (let j = 0; j < d; j++) {
        if (j < i) lower[i * d + j] = 1;
        if (j > i) upper[i * d + j] = 1;
      }
    }
    this.permMatrix = tf.tensor2d(pm, [d, d]);
    this.strictLower = tf.tensor2d(lower, [d, d]);
    this.strictUpper = tf.tensor2d(upper, [d, d]);
    this.eye = tf.eye(d) as tf.Tensor2D;
    this.sign = tf.ones([d]);
  }

  /** log|diag U| = diagonal of `packed`, [D]. */
  private logDiag(): tf.Tensor1D {
    return tf.tidy(() => tf.sum(tf.mul(this.packed, this.eye), 0) as tf.Tensor1D);
  }

  /** W = P·L·U, [D, D]. */
  weight(): tf.Tensor2D {
    return tf.tidy(() => {
      const l = tf.add(tf.mul(this.packed, this.strictLower), this.eye) as tf.Tensor2D;
      const diagU = tf.mul(this.sign, tf.exp(this.logDiag()));
      const u = tf.add(tf.mul(this.packed, this.strictUpper), tf.mul(this.eye, diagU)) as tf.Tensor2D;
      return tf.matMul(this.permMatrix, tf.matMul(l, u));
    });
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.matMul(x, this.weight()) as tf.Tensor2D,
      logDet: tf.mul(tf.ones([x.shape[0]]), tf.sum(this.logDiag())) as tf.Tensor1D,
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    const winv = tf.tensor2d(Float32Array.from(this.inverseWeight()), [this.dim, this.dim]);
    try {
      return tf.tidy(() => ({
        output: tf.matMul(z, winv) as tf.Tensor2D,
        logDet: tf.mul(tf.ones([z.shape[0]]), tf.neg(tf.sum(this.logDiag()))) as tf.Tensor1D,
      }));
    } finally {
      winv.dispose();
    }
  }

  /** W⁻¹ = U⁻¹ · L⁻¹ · Pᵀ in plain JS (double precision), row-major [D·D]. */
  inverseWeight(): Float64Array {
    const d = this.dim;
    const a = this.packed.dataSync();
    const sign = this.sign.dataSync();
    // L⁻¹: unit lower-triangular, by forward substitution column by column.
    const li = new Float64Array(d * d);
    for (let j = 0; j < d; j++) {
      li[j * d + j] = 1;
      for (let i = j + 1; i < d; i++) {
        let s = 0;
        for (let k = j; k < i; k++) s += a[i * d + k]! * li[k * d + j]!;
        li[i * d + j] = -s;
      }
    }
    // U⁻¹: upper-triangular, by back substitution.
    const ui = new Float64Array(d * d);
    const diag = (i: number) => sign[i]! * Math.exp(a[i * d + i]!);
    for (let j = d - 1; j >= 0; j--) {
      ui[j * d + j] = 1 / diag(j);
      for (let i = j - 1; i >= 0; i--) {
        let s = 0;
        for (let k = i + 1; k <= j; k++) s += a[i * d + k]! * ui[k * d + j]!;
        ui[i * d + j] = -s / diag(i);
      }
    }
    // U⁻¹·L⁻¹, then ·Pᵀ: P[i][perm[i]] = 1, so (M·Pᵀ)[r][c] = M[r][perm[c]].
    const ul = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let k = i; k < d; k++) {
        const uik = ui[i * d + k]!;
        if (uik === 0) continue;
        for (let j = 0; j <= k; j++) ul[i * d + j] = ul[i * d + j]! + uik * li[k * d + j]!;
      }
    }
    const out = new Float64Array(d * d);
    for (let r = 0; r < d; r++) for (let i = 0; i < d; i++) out[r * d + i] = ul[r * d + this.perm[i]!]!;
    return out;
  }

  variables(): tf.Variable[] {
    return [this.packed];
  }

  dispose(): void {
    for (const t of [this.packed, this.permMatrix, this.strictLower, this.strictUpper, this.eye, this.sign]) t.dispose();
  }
}
