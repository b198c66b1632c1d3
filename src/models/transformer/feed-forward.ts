/**
 * The position-wise feed-forward block of a Transformer layer (Vaswani et al. 2017, §3.3) and its activations: the
 * dense block of every layer, and the expert of a mixture of experts (moe.ts).
 *
 * Shapes: N rows (tokens), d = d_model, h = ff_mult · d the hidden width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { isGated, type Activation } from "./config.js";
import { fusedActivation } from "../fused-ops.js";
import { fusedKernels } from "../native-kernels.js";
import { Linear, type ParamStore, type SequenceContext, type SequenceOp } from "./nn.js";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

// ---------------------------------------------------------------------------------------------------------------
// Activations

/**
 * Feed-forward activations. Written with sigmoid, which is ~23× cheaper than tanh per element on tfjs-wasm:
 *   - GELU, tanh form (Hendrycks & Gimpel 2016): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(1.5958(x + 0.044715x³))
 *     since 1 + tanh(z) = 2σ(2z) and 2√(2/π) = 1.59577.
 *   - Swish / SiLU (Ramachandran et al. 2017): x·σ(x)
 *   - squared ReLU (So et al. 2021, Primer): relu(x)²
 *   - GEGLU, SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer"): act(xW) ⊙ xV, handled in FeedForward.
 */
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

function swish(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x));
}

/** `plain` on every route, or its fused native kernel where the fused kernels are on (fused-ops.ts). */
function orFused(kind: "gelu" | "swish", plain: (x: tf.Tensor2D) => tf.Tensor2D): (x: tf.Tensor2D) => tf.Tensor2D {
  return (x) => (fusedKernels() && x.dtype === "float32" ? fusedActivation(kind, x) : plain(x));
}

function squaredRelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.square(tf.relu(x));
}

/** The elementwise nonlinearity of an activation (for GLU variants: the one applied to the gate branch). */
function nonlinearity(activation: Activation): (x: tf.Tensor2D) => tf.Tensor2D {
  switch (activation) {
    case "relu":
      return (x) => tf.relu(x);
    case "gelu":
    case "geglu":
      return orFused("gelu", gelu);
    case "swish":
    case "swiglu":
      return orFused("swish", swish);
    case "squared_relu":
      return squaredRelu;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Feed-forward

/**
 * Position-wise feed-forward block (Vaswani et al. 2017, §3.3), a SequenceOp.
 *   plain: act(x·W₁ + b₁)·W₂ + b₂                     W₁ [d, h], W₂ [h, d], h = ff_mult·d
 *   GLU:   (act(x·W + b) ⊙ (x·V + c))·W₂ + b₂          (Shazeer 2020), W and V [d, h] each
 * The output projection is initialised with std 0.02/√(2·n_layers) as in GPT-2 (residual scaling).
 */
export class FeedForward implements SequenceOp {
  readonly kind: string;
  private readonly up: Linear;
  private readonly gate?: Linear;
  private readonly down: Linear;
  private readonly act: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(params: ParamStore, name: string, opts: { d: number; hidden: number; activation: Activation; nLayers: number }) {
    this.kind = `ffn:${opts.activation}`;
    this.act = nonlinearity(opts.activation);
    if (isGated(opts.activation)) this.gate = new Linear(params, `${name}.gate`, opts.d, opts.hidden);
    this.up = new Linear(params, `${name}.up`, opts.d, opts.hidden);
    this.down = new Linear(params, `${name}.down`, opts.hidden, opts.d, 0.02 / Math.sqrt(2 * opts.nLayers));
  }

  /** x: [N, d] → [N, d]; N = B·T tokens, or the tokens routed to one expert of a mixture (moe.ts). */
  apply(x: tf.Tensor2D, _ctx: SequenceContext): tf.Tensor2D {
    const h = this.gate ? tf.mul(this.act(this.gate.apply(x)), this.up.apply(x)) : this.act(this.up.apply(x)); // [N, h]
    return this.down.apply(h as tf.Tensor2D); // [N, d]
  }
}
