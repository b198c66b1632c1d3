/**
 * The layers whose transformation of some dimensions is computed by a conditioner network (conditioner.ts):
 * coupling layers and the masked autoregressive layer. All map (N, D) → (N, D).
 *
 * Coupling layers: the input is split by a binary mask (config.ts, couplingMask) into x_A (mask 1, passed through
 * unchanged) and x_B (mask 0), and x_B is transformed elementwise by functions of x_A:
 *   - NICE additive coupling (Dinh et al. 2014):   z_B = x_B + t(x_A),              log|det J| = 0.
 *   - RealNVP affine coupling (Dinh et al. 2016):  z_B = x_B ⊙ exp(s(x_A)) + t(x_A), log|det J| = Σ s.
 * The inverse needs only the conditioner on z_A = x_A, so it is exact and as cheap as the forward pass.
 *
 * MAF (Papamakarios et al. 2017) is the same affine form with every dimension conditioned on the ones before it,
 *   z_i = x_i · exp(s_i(x_<i)) + t_i(x_<i),   log|det J| = Σ_i s_i,
 * with (s, t) from one pass of a MADE network, so density evaluation is one parallel pass; sampling inverts
 * dimension by dimension.
 *
 * All start close to identity: their conditioners' last layers start small (conditioner.ts, OUTPUT_INIT_SCALE),
 * so t ≈ 0 and s ≈ 0; NICE's scaling layer that ends an additive flow is DiagonalScaling (transforms.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../../core/rng.js";
import type { ConditionerSpec, CouplingSpec, MadeSpec, ScaleBound } from "./config.js";
import { buildMlp, fastTanh, type Op, type Sequential } from "./conditioner.js";
import { fusedCouplingForward } from "./fused-coupling.js";
import { zeroLogDet, type Transform, type TransformOutput } from "./transforms.js";

/**
 * Bounded log-scales for affine layers (RealNVP coupling, MAF). An unbounded exp(s) lets one bad step blow up
 * the likelihood, so the raw conditioner output r is squashed:
 *   - "tanh":    log s = c ⊙ tanh(r), c a learned per-dimension scale initialised to 1 (the RealNVP reference
 *                implementation's `scale * tanh(s)`); |log s| ≤ |c|.
 *   - "sigmoid": s = 2σ(r) ∈ (0, 2), log s = log 2 − softplus(−r) (Glow uses σ(r + 2)); s = 1 at r = 0.
 * Both give s = 1 at r = 0, so a conditioner whose last layer starts small starts the layer near identity.
 */
export class BoundedLogScale {
  /** Learned per-dimension scale of the tanh bound, (K); absent for sigmoid. */
  readonly scale?: tf.Variable;

  constructor(
    readonly kind: ScaleBound,
    dim: number,
  ) {
    if (kind === "tanh") this.scale = tf.tidy(() => tf.variable(tf.ones([dim]), true));
  }

  /** raw (N, K) → log s (N, K). */
  apply(raw: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      if (this.kind === "tanh") return tf.mul(fastTanh(raw), this.scale!) as tf.Tensor2D;
      return tf.sub(Math.LN2, tf.softplus(tf.neg(raw)));
    });
  }

  variables(): tf.Variable[] {
    return this.scale ? [this.scale] : [];
  }

  dispose(): void {
    this.scale?.dispose();
  }
}

/** (log s, t), each (N, K), from a conditioner `net` of (N, ·) → (N, 2K) and its scale bound. */
function scaleShift(net: Op, bound: BoundedLogScale, h: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [raw, t] = tf.split(net.apply(h), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  return [bound.apply(raw), t];
}

/**
 * Splitting a batch of vectors by a binary mask and merging it back, differentiably on every tfjs backend.
 * A prefix mask (1…1 0…0) uses slice/concat; any other mask (checkerboard, alternating rows) uses constant
 * one-hot selection matrices, x_A = x·S_A, because the gradient of `tf.gather` needs `UnsortedSegmentSum`,
 * which the wasm backend lacks.
 */
export class MaskSplit {
  /** Indices with mask 1 (the identity / conditioning part A) and 0 (the transformed part B). */
  readonly a: number[];
  readonly b: number[];
  private readonly prefix: boolean;
  private selA?: tf.Tensor2D; // (D, |A|)
  private selB?: tf.Tensor2D; // (D, |B|)
  private selAT?: tf.Tensor2D;
  private selBT?: tf.Tensor2D;

  constructor(readonly mask: readonly number[]) {
    this.a = [];
    this.b = [];
    mask.forEach((m, i) => (m ? this.a : this.b).push(i));
    if (this.a.length === 0 || this.b.length === 0) throw new Error("a coupling mask needs both 0s and 1s");
    this.prefix = this.a.every((v, i) => v === i);
    if (!this.prefix) {
      const d = mask.length;
      const sel = (idx: number[]) => {
        const m = new Float32Array(d * idx.length);
        idx.forEach((v, j) => (m[v * idx.length + j] = 1));
        return tf.tensor2d(m, [d, idx.length]);
      };
      this.selA = sel(this.a);
      this.selB = sel(this.b);
      this.selAT = tf.transpose(this.selA);
      this.selBT = tf.transpose(this.selB);
    }
  }

  /** x (N, D) → (x_A (N, |A|), x_B (N, |B|)). */
  split(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    if (this.prefix) return tf.split(x, [this.a.length, this.b.length], 1) as [tf.Tensor2D, tf.Tensor2D];
    return [tf.matMul(x, this.selA!), tf.matMul(x, this.selB!)];
  }

  /** Inverse of `split`. */
  merge(xa: tf.Tensor2D, xb: tf.Tensor2D): tf.Tensor2D {
    if (this.prefix) return tf.concat([xa, xb], 1);
    return tf.tidy(() => tf.add(tf.matMul(xa, this.selAT!), tf.matMul(xb, this.selBT!)));
  }

  dispose(): void {
    for (const t of [this.selA, this.selB, this.selAT, this.selBT]) t?.dispose();
  }
}

// ---- Coupling layers ----

export class AdditiveCoupling implements Transform {
  readonly name = "additive-coupling";
  private readonly split: MaskSplit;
  /** t: (N, |A|) → (N, |B|). */
  readonly conditioner: Op;

  constructor(spec: CouplingSpec, rng: Rng) {
    this.split = new MaskSplit(spec.mask);
    this.conditioner = buildMlp({ inputs: this.split.a.length, outputs: this.split.b.length, ...spec.conditioner }, rng);
  }

  forward(x: tf.Tensor2D): TransformOutput {
    const fused = fusedCouplingForward(x, { a: this.split.a, b: this.split.b, conditioner: this.conditioner });
    if (fused) return fused;
    return tf.tidy(() => {
      const [xa, xb] = this.split.split(x);
      const zb = tf.add(xb, this.conditioner.apply(xa)) as tf.Tensor2D;
      return { output: this.split.merge(xa, zb), logDet: zeroLogDet(x) };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [za, zb] = this.split.split(z);
      const xb = tf.sub(zb, this.conditioner.apply(za)) as tf.Tensor2D;
      return { output: this.split.merge(za, xb), logDet: zeroLogDet(z) };
    });
  }

  variables(): tf.Variable[] {
    return this.conditioner.variables();
  }

  dispose(): void {
    this.conditioner.dispose();
    this.split.dispose();
  }
}

export class AffineCoupling implements Transform {
  readonly name = "affine-coupling";
  private readonly split: MaskSplit;
  /** (raw log s, t): (N, |A|) → (N, 2|B|). */
  readonly conditioner: Op;
  private readonly bound: BoundedLogScale;

  constructor(spec: CouplingSpec & { scaleBound: ScaleBound }, rng: Rng) {
    this.split = new MaskSplit(spec.mask);
    const nb = this.split.b.length;
    this.conditioner = buildMlp({ inputs: this.split.a.length, outputs: 2 * nb, ...spec.conditioner }, rng);
    this.bound = new BoundedLogScale(spec.scaleBound, nb);
  }

  forward(x: tf.Tensor2D): TransformOutput {
    const fused = fusedCouplingForward(x, { a: this.split.a, b: this.split.b, conditioner: this.conditioner, scaleBound: this.bound.kind, scale: this.bound.scale });
    if (fused) return fused;
    return tf.tidy(() => {
      const [xa, xb] = this.split.split(x);
      const [logS, t] = scaleShift(this.conditioner, this.bound, xa); // (N, |B|) each
      const zb = tf.add(tf.mul(xb, tf.exp(logS)), t) as tf.Tensor2D;
      return { output: this.split.merge(xa, zb), logDet: tf.sum(logS, 1) as tf.Tensor1D };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [za, zb] = this.split.split(z);
      const [logS, t] = scaleShift(this.conditioner, this.bound, za);
      const xb = tf.mul(tf.sub(zb, t), tf.exp(tf.neg(logS))) as tf.Tensor2D;
      return { output: this.split.merge(za, xb), logDet: tf.neg(tf.sum(logS, 1)) as tf.Tensor1D };
    });
  }

  variables(): tf.Variable[] {
    return [...this.conditioner.variables(), ...this.bound.variables()];
  }

  dispose(): void {
    this.conditioner.dispose();
    this.bound.dispose();
    this.split.dispose();
  }
}

// ---- MADE and the MAF layer ----

/**
 * The [depth + 1] masks of a MADE (Masked Autoencoder for Distribution Estimation, Germain et al. 2015) with
 * `dim` inputs and `depth` hidden layers of `width` units: an MLP whose weight matrices are multiplied by constant
 * 0/1 masks so that output i depends only on inputs ordered before i. Input d has degree d+1 (natural order;
 * permutations between flow steps change the order), hidden unit k of every layer has a degree m_k ∈ [1, D−1]
 * (assigned cyclically, so every degree is present when width ≥ D−1), and
 *   input d → hidden k      iff m_k ≥ d+1
 *   hidden k' → hidden k    iff m_k ≥ m_k'
 *   hidden k → output i     iff i+1 > m_k
 * Outputs come in `outputsPerInput` blocks of D (e.g. shift and log-scale for MAF), each with the same mask.
 */
export function madeMasks(dim: number, width: number, depth: number, outputsPerInput: number): number[][][] {
  const inDeg = Array.from({ length: dim }, (_, d) => d + 1);
  const hidDeg = Array.from({ length: width }, (_, k) => (dim > 1 ? (k % (dim - 1)) + 1 : 1));
  const masks: number[][][] = [];
  masks.push(inDeg.map((di) => hidDeg.map((mk) => (mk >= di ? 1 : 0))));
  for (let l = 1; l < depth; l++) masks.push(hidDeg.map((mk1) => hidDeg.map((mk) => (mk >= mk1 ? 1 : 0))));
  const outDeg = Array.from({ length: outputsPerInput * dim }, (_, j) => (j % dim) + 1);
  masks.push(hidDeg.map((mk) => outDeg.map((od) => (od > mk ? 1 : 0))));
  return masks;
}

/** A MADE network: (N, dim) → (N, outputsPerInput·dim). */
export function buildMade(spec: MadeSpec, rng: Rng): Sequential {
  const { dim, outputsPerInput, ...rest } = spec;
  return buildMlp({ inputs: dim, outputs: outputsPerInput * dim, ...rest }, rng, madeMasks(dim, spec.width, spec.depth, outputsPerInput));
}

/**
 * Masked autoregressive flow layer (MAF), z_i = x_i · exp(s_i(x_<i)) + t_i(x_<i): the forward (density)
 * direction is one MADE pass; the inverse (sampling) takes D passes, after pass i the first i+1 dimensions of x
 * are exact.
 */
export class MaskedAutoregressive implements Transform {
  readonly name = "maf";
  /** (raw log s, t): (N, D) → (N, 2D). */
  readonly made: Op;
  private readonly bound: BoundedLogScale;

  constructor(
    readonly dim: number,
    spec: ConditionerSpec & { scaleBound: ScaleBound },
    rng: Rng,
  ) {
    this.made = buildMade({ dim, outputsPerInput: 2, width: spec.width, depth: spec.depth, activation: spec.activation }, rng);
    this.bound = new BoundedLogScale(spec.scaleBound, dim);
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [logS, t] = scaleShift(this.made, this.bound, x); // (N, D) each
      return { output: tf.add(tf.mul(x, tf.exp(logS)), t) as tf.Tensor2D, logDet: tf.sum(logS, 1) as tf.Tensor1D };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.zerosLike(z);
      for (let i = 0; i < this.dim; i++) {
        const next = tf.tidy(() => {
          const [logS, t] = scaleShift(this.made, this.bound, x);
          return tf.mul(tf.sub(z, t), tf.exp(tf.neg(logS))) as tf.Tensor2D;
        });
        x.dispose();
        x = next;
      }
      const [logS] = scaleShift(this.made, this.bound, x);
      return { output: x, logDet: tf.neg(tf.sum(logS, 1)) as tf.Tensor1D };
    });
  }

  variables(): tf.Variable[] {
    return [...this.made.variables(), ...this.bound.variables()];
  }

  dispose(): void {
    this.made.dispose();
    this.bound.dispose();
  }
}
