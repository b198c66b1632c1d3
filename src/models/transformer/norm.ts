/**
 * Normalisation over the feature axis of [N, d] activations.
 *   - LayerNorm (Ba et al. 2016): (x − mean) / sqrt(var + ε) · γ + β
 *   - RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + ε) · γ
 * Where a norm sits (pre-LN, post-LN) is the block's business (block.ts).
 *
 * LayerNorm has a hand-written gradient (the standard closed form, as in fused CUDA kernels): autodiff through
 * moments would launch about twice as many small kernels, and on tfjs-wasm each launch costs more than its
 * arithmetic. The finite-difference test in transformer-model.test.ts checks it.
 */
import * as tf from "@tensorflow/tfjs-core";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];
import type { ParamStore } from "./params.js";

export interface Norm {
  apply(x: tf.Tensor2D): tf.Tensor2D;
}

const EPS = 1e-5;

export class LayerNorm implements Norm {
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  constructor(params: ParamStore, name: string, d: number) {
    this.gamma = params.add(`${name}.gamma`, [d], { kind: "ones" });
    this.beta = params.add(`${name}.beta`, [d], { kind: "zeros" });
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(x, this.gamma, this.beta);
  }
}

/**
 * y = x̂·γ + β with x̂ = (x − μ)·r, r = 1/√(σ² + ε), over the last axis of x [N, d]. Gradients:
 *   dβ = Σ_N dy,  dγ = Σ_N dy·x̂,  dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ.
 */
export const layerNorm = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), EPS)); // [N, 1]
  const xhat = tf.mul(centered, r);
  save([xhat, r, gamma]);
  return {
    value: tf.add(tf.mul(xhat, gamma), beta),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const gdy = tf.mul(dy, g);
      const dx = tf.mul(rs, tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gdy, xh), -1, true))));
      return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0)];
    },
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor2D;

export class RMSNorm implements Norm {
  private readonly gamma: tf.Variable;
  constructor(params: ParamStore, name: string, d: number) {
    this.gamma = params.add(`${name}.gamma`, [d], { kind: "ones" });
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, EPS))), this.gamma);
  }
}

/** pre_ln and post_ln use LayerNorm; rmsnorm uses RMSNorm in the pre-norm position. */
export function makeNorm(kind: "pre_ln" | "post_ln" | "rmsnorm", params: ParamStore, name: string, d: number): Norm {
  return kind === "rmsnorm" ? new RMSNorm(params, name, d) : new LayerNorm(params, name, d);
}

export function normParamCount(kind: "pre_ln" | "post_ln" | "rmsnorm", d: number): number {
  return kind === "rmsnorm" ? d : 2 * d;
}
