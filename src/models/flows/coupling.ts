/**
 * Coupling layers: the input is split by a binary mask into x_A (mask 1, passed through unchanged) and x_B
 * (mask 0), and x_B is transformed elementwise by functions of x_A computed by a conditioner network.
 *   - NICE additive coupling (Dinh et al. 2014):   z_B = x_B + t(x_A),              log|det J| = 0.
 *   - RealNVP affine coupling (Dinh et al. 2016):  z_B = x_B ⊙ exp(s(x_A)) + t(x_A), log|det J| = Σ s.
 * The inverse needs only the conditioner on z_A = x_A, so it is exact and as cheap as the forward pass.
 * Both start close to identity: their conditioners' last layers start small (conditioner.ts, OUTPUT_INIT_SCALE),
 * so t ≈ 0 and s ≈ 0; NICE's scaling layer that ends an additive flow is in scaling.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import { buildMlp, mlpParameterCount, type Activation, type Op } from "./conditioner.js";
import type { Rng } from "./random.js";
import { BoundedLogScale, boundParameterCount, type ScaleBound } from "./scale.js";
import { MaskSplit } from "./split.js";
import { zeroLogDet, type Transform, type TransformOutput } from "./transform.js";

export interface ConditionerSpec {
  width: number;
  depth: number;
  activation: Activation;
}

export interface CouplingSpec {
  /** 0/1 per dimension: 1 = conditioning part (unchanged), 0 = transformed part. */
  mask: readonly number[];
  conditioner: ConditionerSpec;
}

export class AdditiveCoupling implements Transform {
  readonly name = "additive-coupling";
  private readonly split: MaskSplit;
  readonly conditioner: Op;

  constructor(spec: CouplingSpec, rng: Rng) {
    this.split = new MaskSplit(spec.mask);
    this.conditioner = buildMlp({ inputs: this.split.a.length, outputs: this.split.b.length, ...spec.conditioner }, rng);
  }

  forward(x: tf.Tensor2D): TransformOutput {
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
  readonly conditioner: Op;
  private readonly bound: BoundedLogScale;

  constructor(spec: CouplingSpec & { scaleBound: ScaleBound }, rng: Rng) {
    this.split = new MaskSplit(spec.mask);
    const nb = this.split.b.length;
    this.conditioner = buildMlp({ inputs: this.split.a.length, outputs: 2 * nb, ...spec.conditioner }, rng);
    this.bound = new BoundedLogScale(spec.scaleBound, nb);
  }

  /** (log s, t), each [batch, |B|]. */
  private scaleShift(xa: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const [raw, t] = tf.split(this.conditioner.apply(xa), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return [this.bound.apply(raw), t];
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [xa, xb] = this.split.split(x);
      const [logS, t] = this.scaleShift(xa);
      const zb = tf.add(tf.mul(xb, tf.exp(logS)), t) as tf.Tensor2D;
      return { output: this.split.merge(xa, zb), logDet: tf.sum(logS, 1) as tf.Tensor1D };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [za, zb] = this.split.split(z);
      const [logS, t] = this.scaleShift(za);
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

/** Trainable scalars of a coupling layer, from its mask and conditioner alone. */
export function couplingParameterCount(kind: "additive" | "affine", spec: CouplingSpec, scaleBound: ScaleBound): number {
  const na = spec.mask.filter((m) => m).length;
  const nb = spec.mask.length - na;
  if (kind === "additive") return mlpParameterCount({ inputs: na, outputs: nb, ...spec.conditioner });
  return mlpParameterCount({ inputs: na, outputs: 2 * nb, ...spec.conditioner }) + boundParameterCount(scaleBound, nb);
}
