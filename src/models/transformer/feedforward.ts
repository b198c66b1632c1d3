/**
 * Position-wise feed-forward block (Vaswani et al. 2017, §3.3), a SequenceOp.
 *   plain: act(x·W₁ + b₁)·W₂ + b₂                     W₁ [d, h], W₂ [h, d], h = ff_mult·d
 *   GLU:   (act(x·W + b) ⊙ (x·V + c))·W₂ + b₂          (Shazeer 2020), W and V [d, h] each
 * The output projection is initialised with std 0.02/√(2·n_layers) as in GPT-2 (residual scaling).
 */
import type * as tf from "@tensorflow/tfjs-core";
import { mul } from "@tensorflow/tfjs-core";
import { isGated, type Activation } from "./architecture.js";
import { nonlinearity } from "./activations.js";
import { Linear } from "./linear.js";
import type { SequenceContext, SequenceOp } from "./ops.js";
import type { ParamStore } from "./params.js";

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

  /** x: [B·T, d] → [B·T, d] */
  apply(x: tf.Tensor2D, _ctx: SequenceContext): tf.Tensor2D {
    const h = this.gate ? mul(this.act(this.gate.apply(x)), this.up.apply(x)) : this.act(this.up.apply(x)); // [B·T, h]
    return this.down.apply(h as tf.Tensor2D);
  }

  static paramCount(d: number, hidden: number, activation: Activation): number {
    return (isGated(activation) ? 2 : 1) * Linear.paramCount(d, hidden) + Linear.paramCount(hidden, d);
  }
}
