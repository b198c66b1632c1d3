/**
 * The Transform interface, composition, and the elementwise and linear invertible layers (after nflows'
 * `transforms/base.py`, `normalization.py`, `permutations.py`, `lu.py`). The couplings and MAF are in coupling.ts.
 *
 * Direction convention: `forward` maps data x to latent z (the density direction, used for training) and
 * `inverse` maps z back to x (the sampling direction). Both return `{output, logDet}` where `logDet[b]` is
 * log|det J| of the map that was applied, for example b, so `inverse(forward(x).output).logDet = −forward(x).logDet`.
 *
 * Tensors are rows of flat vectors: x, z are (N, D); logDet is (N).
 * Ownership: a transform owns its variables (`variables()`, the trainable ones) and frees them in `dispose()`.
 * Outputs are new tensors owned by the caller (call inside `tf.tidy` or dispose them).
 *
 *   Transform, CompositeTransform   the interface; a chain of transforms is a transform
 *   ActNorm                         Glow's actnorm, with data-dependent initialisation
 *   DiagonalScaling                 NICE's diagonal scaling (the top layer of an additive flow)
 *   Permutation                     reverse / fixed random permutations
 *   LULinear                        Glow's LU-parametrised linear map (invertible 1×1 convolution)
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../../core/rng.js";
import { normalValues, randomPermutation } from "./conditioner.js";

export interface TransformOutput {
  /** (N, D) */
  output: tf.Tensor2D;
  /** (N) log|det ∂output/∂input| */
  logDet: tf.Tensor1D;
}

export interface Transform {
  /** Short name for logs and summaries, e.g. "affine-coupling". */
  readonly name: string;
  /** data → latent. */
  forward(x: tf.Tensor2D): TransformOutput;
  /** latent → data; logDet is that of the inverse map. */
  inverse(z: tf.Tensor2D): TransformOutput;
  /** Trainable variables (their total size is the transform's parameter count). */
  variables(): tf.Variable[];
  /**
   * Optional data-dependent initialisation (actnorm): given a batch of this transform's inputs, set the
   * parameters; called once before training, outside any gradient tape.
   */
  initialize?(x: tf.Tensor2D): void;
  /** True when log|det J| is 0 everywhere (permutations): a composite then skips adding it. */
  readonly volumePreserving?: boolean;
  dispose(): void;
}

/** A zero log-determinant for a batch of `x` (volume-preserving layers). */
export function zeroLogDet(x: tf.Tensor2D): tf.Tensor1D {
  return tf.zeros([x.shape[0]]);
}

/** The same log-determinant `logDet` (a scalar) for every example of `x`: layers whose Jacobian is constant. */
function constantLogDet(x: tf.Tensor2D, logDet: tf.Tensor): tf.Tensor1D {
  return tf.mul(tf.ones([x.shape[0]]), logDet) as tf.Tensor1D;
}

/** Number of scalars in a list of variables. */
export function countVariables(vars: readonly tf.Variable[]): number {
  return vars.reduce((n, v) => n + v.size, 0);
}

/**
 * A chain of transforms is a transform: forward applies them in order and adds the log-determinants; inverse
 * applies their inverses in reverse order.
 */
export class CompositeTransform implements Transform {
  readonly name = "composite";

  constructor(readonly transforms: readonly Transform[]) {}

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let out = x;
      let logDet: tf.Tensor1D = zeroLogDet(x);
      for (const t of this.transforms) {
        const r = t.forward(out);
        out = r.output;
        if (!t.volumePreserving) logDet = tf.add(logDet, r.logDet);
      }
      return { output: out, logDet };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let out = z;
      let logDet: tf.Tensor1D = zeroLogDet(z);
      for (let i = this.transforms.length - 1; i >= 0; i--) {
        const t = this.transforms[i]!;
        const r = t.inverse(out);
        out = r.output;
        if (!t.volumePreserving) logDet = tf.add(logDet, r.logDet);
      }
      return { output: out, logDet };
    });
  }

  variables(): tf.Variable[] {
    return this.transforms.flatMap((t) => t.variables());
  }

  /** Initialises each transform on the batch as it arrives at that transform (Glow's data-dependent init). */
  initialize(x: tf.Tensor2D): void {
    let cur = tf.clone(x);
    for (const t of this.transforms) {
      t.initialize?.(cur);
      const next = tf.tidy(() => t.forward(cur).output);
      cur.dispose();
      cur = next;
    }
    cur.dispose();
  }

  dispose(): void {
    for (const t of this.transforms) t.dispose();
  }
}

// ---- Elementwise layers ----

/**
 * Activation normalisation (Glow, Kingma & Dhariwal 2018): a per-dimension affine map
 *   z = (x + b) ⊙ exp(log s),   log|det J| = Σ log s,
 * whose parameters are set from data before training so that the initialising batch comes out with zero mean
 * and unit variance per dimension (b = −mean, log s = −log std); afterwards they are ordinary trainable variables.
 */
export class ActNorm implements Transform {
  readonly name = "actnorm";
  /** (D) */
  readonly bias: tf.Variable;
  /** (D) */
  readonly logScale: tf.Variable;
  initialized = false;

  constructor(readonly dim: number) {
    this.bias = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  /** x: (N, D), the initialising batch. */
  initialize(x: tf.Tensor2D): void {
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 0); // (D), (D)
      this.bias.assign(tf.neg(mean));
      this.logScale.assign(tf.neg(tf.log(tf.add(tf.sqrt(variance), 1e-6))));
    });
    this.initialized = true;
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(tf.add(x, this.bias), tf.exp(this.logScale)) as tf.Tensor2D,
      logDet: constantLogDet(x, tf.sum(this.logScale)),
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.sub(tf.mul(z, tf.exp(tf.neg(this.logScale))), this.bias) as tf.Tensor2D,
      logDet: constantLogDet(z, tf.neg(tf.sum(this.logScale))),
    }));
  }

  variables(): tf.Variable[] {
    return [this.bias, this.logScale];
  }

  dispose(): void {
    this.bias.dispose();
    this.logScale.dispose();
  }
}

/**
 * NICE's diagonal scaling layer (Dinh et al. 2014, §3.3): the top layer of an additive-coupling flow,
 *   z = x ⊙ exp(log s),   log|det J| = Σ log s,
 * with log s learned and starting at 0 (identity). Additive couplings are volume-preserving (log|det J| = 0) and
 * a volume-preserving map leaves the differential entropy unchanged, so a NICE flow on a standard normal base can
 * only fit data whose entropy happens to equal that of N(0, I); this layer supplies the volume change. Unlike
 * actnorm it has no bias and no data-dependent initialisation.
 */
export class DiagonalScaling implements Transform {
  readonly name = "diagonal-scaling";
  /** (D) */
  readonly logScale: tf.Variable;

  constructor(readonly dim: number) {
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(x, tf.exp(this.logScale)) as tf.Tensor2D,
      logDet: constantLogDet(x, tf.sum(this.logScale)),
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(z, tf.exp(tf.neg(this.logScale))) as tf.Tensor2D,
      logDet: constantLogDet(z, tf.neg(tf.sum(this.logScale))),
    }));
  }

  variables(): tf.Variable[] {
    return [this.logScale];
  }

  dispose(): void {
    this.logScale.dispose();
  }
}

// ---- Permutations and linear maps ----

/** y[:, j] = x[:, perm[j]] on (N, D), differentiable on every backend (see Permutation). */
function permuteColumns(perm: tf.Tensor1D, inversePerm: tf.Tensor1D): (x: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad(((x: tf.Tensor) => ({
    value: tf.gather(x, perm, 1),
    gradFunc: (dy: tf.Tensor) => tf.gather(dy, inversePerm, 1),
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
}

/**
 * Fixed permutations of the dimensions between flow steps, so every dimension gets transformed: reversal
 * (RealNVP/MAF) or a random permutation fixed by a seed. Volume-preserving: log|det J| = 0.
 *
 * `tf.gather` has no gradient on wasm (it needs `UnsortedSegmentSum`), but the gradient of a permutation is the
 * inverse permutation, so the layer declares it with `tf.customGrad`.
 */
export class Permutation implements Transform {
  readonly name: string;
  readonly volumePreserving = true;
  private readonly perm: tf.Tensor1D;
  private readonly inv: tf.Tensor1D;
  private readonly fwd: (x: tf.Tensor2D) => tf.Tensor2D;
  private readonly bwd: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(readonly permutation: readonly number[], name = "permutation") {
    this.name = name;
    const inverse = new Array<number>(permutation.length);
    permutation.forEach((p, j) => (inverse[p] = j));
    this.perm = tf.tensor1d(permutation as number[], "int32");
    this.inv = tf.tensor1d(inverse, "int32");
    this.fwd = permuteColumns(this.perm, this.inv);
    this.bwd = permuteColumns(this.inv, this.perm);
  }

  static reverse(dim: number): Permutation {
    return new Permutation(Array.from({ length: dim }, (_, i) => dim - 1 - i), "reverse");
  }

  static random(dim: number, rng: Rng): Permutation {
    return new Permutation(randomPermutation(rng, dim), "random-permutation");
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return { output: this.fwd(x), logDet: zeroLogDet(x) };
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return { output: this.bwd(z), logDet: zeroLogDet(z) };
  }

  variables(): tf.Variable[] {
    return [];
  }

  dispose(): void {
    this.perm.dispose();
    this.inv.dispose();
  }
}

/**
 * Learned invertible linear layer with an LU parametrisation (Glow's invertible 1×1 convolution, Kingma &
 * Dhariwal 2018, §3.2), written as a matMul over the feature dimension (a 1×1 convolution is exactly that, and
 * `Conv2DBackpropFilter` is missing on wasm):
 *   z = x · W,   W = P · L · U,
 * P a fixed random permutation matrix, L unit lower-triangular, U upper-triangular with diagonal sign ⊙ exp(d).
 * All trainable numbers live in ONE (D, D) variable `packed`, as LAPACK packs an LU factorisation: its strict
 * lower part is L's, its strict upper part U's, and its diagonal d the log|diag U|. So the layer has exactly D²
 * parameters, like an unconstrained linear map, and log|det W| = Σ d (cheap, for every example).
 * L and U are cut out with constant 0/1 masks (`linalg.bandPart` has no working gradient on trainable tensors).
 * tfjs has no matrix inverse, so `inverse` inverts the small triangular factors in plain JS.
 */
export class LULinear implements Transform {
  readonly name = "lu-linear";
  /** (D, D): strict lower part L's, strict upper part U's, diagonal log|diag U|. */
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

  /** log|diag U| = diagonal of `packed`, (D). */
  private logDiag(): tf.Tensor1D {
    return tf.tidy(() => tf.sum(tf.mul(this.packed, this.eye), 0) as tf.Tensor1D);
  }

  /** W = P·L·U, (D, D). */
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
      output: tf.matMul(x, this.weight()) as tf.Tensor2D, // (N, D)·(D, D)
      logDet: constantLogDet(x, tf.sum(this.logDiag())),
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    const winv = tf.tensor2d(Float32Array.from(this.inverseWeight()), [this.dim, this.dim]);
    try {
      return tf.tidy(() => ({
        output: tf.matMul(z, winv) as tf.Tensor2D,
        logDet: constantLogDet(z, tf.neg(tf.sum(this.logDiag()))),
      }));
    } finally {
      winv.dispose();
    }
  }

  /** W⁻¹ = U⁻¹ · L⁻¹ · Pᵀ in plain JS (double precision), row-major (D·D). */
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
