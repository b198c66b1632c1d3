/**
 * Bounded log-scales for affine layers (RealNVP coupling, MAF). An unbounded exp(s) lets one bad step blow up
 * the likelihood, so the raw conditioner output r is squashed:
 *   - "tanh":    log s = c ⊙ tanh(r), c a learned per-dimension scale initialised to 1 (the RealNVP reference
 *                implementation's `scale * tanh(s)`); |log s| ≤ |c|.
 *   - "sigmoid": s = 2σ(r) ∈ (0, 2), log s = log 2 − softplus(−r) (Glow uses σ(r + 2)); s = 1 at r = 0.
 * Both give s = 1 at r = 0, so a conditioner whose last layer starts small starts the layer near identity.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fastTanh } from "./conditioner.js";

export const SCALE_BOUNDS = ["tanh", "sigmoid"] as const;
export type ScaleBound = (typeof SCALE_BOUNDS)[number];

export class BoundedLogScale {
  /** Learned per-dimension scale of the tanh bound, [dim]; absent for sigmoid. */
  readonly scale?: tf.Variable;

  constructor(
    readonly kind: ScaleBound,
    dim: number,
  ) {
    if (kind === "tanh") this.scale = tf.tidy(() => tf.variable(tf.ones([dim]), true));
  }

  /** raw [batch, dim] → log s [batch, dim]. */
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

export function boundParameterCount(kind: ScaleBound, dim: number): number {
  return kind === "tanh" ? dim : 0;
}
