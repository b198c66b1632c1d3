/**
 * Activation normalisation (Glow, Kingma & Dhariwal 2018): a per-dimension affine map
 *   z = (x + b) ⊙ exp(log s),   log|det J| = Σ log s,
 * whose parameters are set from data before training so that the initialising batch comes out with zero mean
 * and unit variance per dimension (b = −mean, log s = −log std); afterwards they are ordinary trainable variables.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Transform, TransformOutput } from "./transform.js";

export class ActNorm implements Transform {
  readonly name = "actnorm";
  readonly bias: tf.Variable;
  readonly logScale: tf.Variable;
  initialized = false;

  constructor(readonly dim: number) {
    this.bias = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
    this.logScale = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  initialize(x: tf.Tensor2D): void {
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, 0);
      this.bias.assign(tf.neg(mean));
      this.logScale.assign(tf.neg(tf.log(tf.add(tf.sqrt(variance), 1e-6))));
    });
    this.initialized = true;
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.mul(tf.add(x, this.bias), tf.exp(this.logScale)) as tf.Tensor2D,
      logDet: tf.mul(tf.ones([x.shape[0]]), tf.sum(this.logScale)) as tf.Tensor1D,
    }));
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => ({
      output: tf.sub(tf.mul(z, tf.exp(tf.neg(this.logScale))), this.bias) as tf.Tensor2D,
      logDet: tf.mul(tf.ones([z.shape[0]]), tf.neg(tf.sum(this.logScale))) as tf.Tensor1D,
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
