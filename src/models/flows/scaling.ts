/**
 * NICE's diagonal scaling layer (Dinh et al. 2014, §3.3): the top layer of an additive-coupling flow,
 *   z = x ⊙ exp(log s),   log|det J| = Σ log s,
 * with log s learned and starting at 0 (identity). Additive couplings are volume-preserving (log|det J| = 0) and
 * a volume-preserving map leaves the differential entropy unchanged, so a NICE flow on a standard normal base can
 * only fit data whose entropy happens to equal that of N(0, I); this layer supplies the volume change. Unlike
 * actnorm it has no bias and no data-dependent initialisation.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Transform, TransformOutput } from "./transform.js";

export class DiagonalScaling implements Transform {
  readonly name = "diagonal-scaling";
  readonly logScale: tf.Variable;

  constructor(readonly dim: number) {
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(x, tf.exp(this.logScale)) as tf.Tensor2D,
      logDet: tf.mul(tf.ones([x.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D,
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(z, tf.exp(tf.neg(this.logScale))) as tf.Tensor2D,
      logDet: tf.mul(tf.ones([z.shape[0]]), tf.neg(tf.sum(this.logScale))) as tf.Tensor1D,
    }));
  }

  variables(): tf.Variable[] {
    return [this.logScale];
  }

  dispose(): void {
    this.logScale.dispose();
  }
}
