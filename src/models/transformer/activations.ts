/**
 * Feed-forward activations. Written with sigmoid, which is ~23× cheaper than tanh per element on tfjs-wasm:
 *   - GELU, tanh form (Hendrycks & Gimpel 2016): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(1.5958(x + 0.044715x³))
 *     since 1 + tanh(z) = 2σ(2z) and 2√(2/π) = 1.59577.
 *   - Swish / SiLU (Ramachandran et al. 2017): x·σ(x)
 *   - squared ReLU (So et al. 2021, Primer): relu(x)²
 *   - GEGLU, SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"): act(xW) ⊙ xV, handled in feedforward.ts.
 */
import * as tf from "@tensorflow/tfjs-core";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];
import type { Activation } from "./architecture.js";

const GELU_C = 2 * Math.sqrt(2 / Math.PI);

/** GELU with a hand-written gradient (fewer kernel launches than autodiff through the polynomial and sigmoid). */
export const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const x2 = tf.square(x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, GELU_C * 0.044715), GELU_C))); // σ(u), u = c·(x + 0.044715x³)
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    // d/dx x·σ(u) = σ(u) + x·σ(u)(1 − σ(u))·u′,  u′ = c·(1 + 3·0.044715x²)
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, x2s, ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const du = tf.add(tf.mul(x2s, GELU_C * 3 * 0.044715), GELU_C);
      const ds = tf.mul(tf.mul(ss, tf.sub(1, ss)), tf.mul(xs, du));
      return tf.mul(dy, tf.add(ss, ds));
    },
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D) => tf.Tensor2D;

export function swish(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x));
}

export function squaredRelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.square(tf.relu(x));
}

/** The elementwise nonlinearity of an activation (for GLU variants: the one applied to the gate branch). */
export function nonlinearity(activation: Activation): (x: tf.Tensor2D) => tf.Tensor2D {
  switch (activation) {
    case "relu":
      return (x) => tf.relu(x);
    case "gelu":
    case "geglu":
      return gelu;
    case "swish":
    case "swiglu":
      return swish;
    case "squared_relu":
      return squaredRelu;
  }
}
