/**
 * A normalizing flow: an invertible transform f (data → latent) plus a base distribution p_Z. It is itself a
 * distribution (nflows' `flows/base.py`):
 *   log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|      (change of variables)
 *   x = f⁻¹(z), z ~ p_Z                              (sampling)
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BaseDistribution } from "./distributions.js";
import { Rng } from "./random.js";
import { countVariables, type Transform } from "./transform.js";

export class Flow {
  constructor(
    readonly transform: Transform,
    readonly base: BaseDistribution,
  ) {}

  get dim(): number {
    return this.base.dim;
  }

  /** x [batch, dim] → log p(x) [batch], differentiable. */
  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const { output, logDet } = this.transform.forward(x);
      return tf.add(this.base.logProb(output), logDet);
    });
  }

  /** n samples [n, dim], reproducible for a given seed. */
  sample(n: number, seed: number): tf.Tensor2D {
    return tf.tidy(() => this.transform.inverse(this.base.sample(n, new Rng(seed))).output);
  }

  /** Data-dependent initialisation (actnorm) on a batch of data. */
  initialize(x: tf.Tensor2D): void {
    this.transform.initialize?.(x);
  }

  variables(): tf.Variable[] {
    return [...this.transform.variables(), ...this.base.variables()];
  }

  parameterCount(): number {
    return countVariables(this.variables());
  }

  dispose(): void {
    this.transform.dispose();
    this.base.dispose();
  }
}
