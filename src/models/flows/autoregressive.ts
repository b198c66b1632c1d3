/**
 * Masked autoregressive flow layer (MAF, Papamakarios et al. 2017), in the same affine form as the coupling
 * layers but with every dimension conditioned on the ones before it:
 *   z_i = x_i · exp(s_i(x_<i)) + t_i(x_<i),   log|det J| = Σ_i s_i,
 * with (s, t) from one MADE pass, so density evaluation is one parallel pass. Sampling inverts dimension by
 * dimension: D passes, after pass i the first i+1 dimensions of x are exact.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ConditionerSpec } from "./coupling.js";
import type { Op } from "./conditioner.js";
import { buildMade, madeParameterCount } from "./made.js";
import type { Rng } from "./random.js";
import { BoundedLogScale, boundParameterCount, type ScaleBound } from "./scale.js";
import type { Transform, TransformOutput } from "./transform.js";

export class MaskedAutoregressive implements Transform {
  readonly name = "maf";
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

  private scaleShift(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const [raw, t] = tf.split(this.made.apply(x), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return [this.bound.apply(raw), t];
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      const [logS, t] = this.scaleShift(x);
      return { output: tf.add(tf.mul(x, tf.exp(logS)), t) as tf.Tensor2D, logDet: tf.sum(logS, 1) as tf.Tensor1D };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let x: tf.Tensor2D = tf.zerosLike(z);
      for (let i = 0; i < this.dim; i++) {
        const next = tf.tidy(() => {
          const [logS, t] = this.scaleShift(x);
          return tf.mul(tf.sub(z, t), tf.exp(tf.neg(logS))) as tf.Tensor2D;
        });
        x.dispose();
        x = next;
      }
      const [logS] = this.scaleShift(x);
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

export function mafParameterCount(dim: number, spec: ConditionerSpec, scaleBound: ScaleBound): number {
  return madeParameterCount({ dim, outputsPerInput: 2, ...spec }) + boundParameterCount(scaleBound, dim);
}
