/**
 * Base distributions of a flow: the density of the latent z. `logProb` is differentiable (training);
 * `sample` draws from a seeded generator (tfjs has no global seed).
 */
import * as tf from "@tensorflow/tfjs-core";
import { normalValues, Rng } from "./random.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface BaseDistribution {
  readonly name: string;
  readonly dim: number;
  /** z [batch, dim] → log p(z) [batch]. */
  logProb(z: tf.Tensor2D): tf.Tensor1D;
  sample(n: number, rng: Rng): tf.Tensor2D;
  variables(): tf.Variable[];
  dispose(): void;
}

export class StandardNormal implements BaseDistribution {
  readonly name = "standard_normal";
  constructor(readonly dim: number) {}

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), this.dim * HALF_LOG_2PI));
  }

  sample(n: number, rng: Rng): tf.Tensor2D {
    return tf.tensor2d(normalValues(rng, [n, this.dim]), [n, this.dim]);
  }

  variables(): tf.Variable[] {
    return [];
  }

  dispose(): void {}
}

/** N(μ, diag σ²) with learned μ and log σ (both start at the standard normal). */
export class DiagonalGaussian implements BaseDistribution {
  readonly name = "diagonal_gaussian";
  readonly mean: tf.Variable;
  readonly logStd: tf.Variable;

  constructor(readonly dim: number) {
    this.mean = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
    this.logStd = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const u = tf.mul(tf.sub(z, this.mean), tf.exp(tf.neg(this.logStd)));
      return tf.sub(tf.sub(tf.mul(tf.sum(tf.square(u), 1), -0.5), tf.sum(this.logStd)), this.dim * HALF_LOG_2PI);
    });
  }

  sample(n: number, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      const eps = tf.tensor2d(normalValues(rng, [n, this.dim]), [n, this.dim]);
      return tf.add(tf.mul(eps, tf.exp(this.logStd)), this.mean) as tf.Tensor2D;
    });
  }

  variables(): tf.Variable[] {
    return [this.mean, this.logStd];
  }

  dispose(): void {
    this.mean.dispose();
    this.logStd.dispose();
  }
}
