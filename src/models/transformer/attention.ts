/**
 * Softmax attention, a SequenceOp: softmax(q·kᵀ/√hd + bias)·v per head (Vaswani et al. 2017, eq. 1). The `full`,
 * `local` and `strided` kinds differ only in the constant mask (masks.ts); ALiBi adds its per-head bias to the
 * scores (Press et al. 2022) and rotary rotates q and k first (Su et al. 2021).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LayerSpec } from "./architecture.js";
import { HeadProjections } from "./heads.js";
import { maskBias, maskKey } from "./masks.js";
import type { SequenceContext, SequenceOp } from "./ops.js";
import type { ParamStore } from "./params.js";
import { alibiBias, applyRotary, rotaryTables } from "./positions.js";

export class SoftmaxAttention implements SequenceOp {
  readonly kind: string;
  private readonly heads: HeadProjections;

  constructor(params: ParamStore, name: string, private readonly layer: LayerSpec, opts: { d: number; nHeads: number; nLayers: number }) {
    this.kind = `attention:${layer.attention}`;
    this.heads = new HeadProjections(params, name, opts.d, opts.nHeads, opts.nLayers);
  }

  /** x: [B·T, d] → [B·T, d] */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const { batch: B, seqLen: T } = ctx;
    const H = this.heads.nHeads;
    const hd = this.heads.d / H;
    let [q, k, v] = this.heads.split(x, B, T); // [B·H, T, hd]
    if (ctx.positions === "rotary") {
      const tables = rotaryConstants(ctx, T, hd);
      q = applyRotary(q, tables);
      k = applyRotary(k, tables);
    }
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)); // [B·H, T, T]
    let biased: tf.Tensor;
    if (ctx.positions === "alibi") {
      const bias = ctx.constants.get(`alibi+${maskKey(this.layer, T)}:${H}`, () => tf.add(alibiBias(H, T), maskBias(this.layer, T))); // [H, T, T]
      biased = tf.reshape(tf.add(tf.reshape(scores, [B, H, T, T]), bias), [B * H, T, T]);
    } else {
      biased = tf.add(scores, ctx.constants.get(maskKey(this.layer, T), () => maskBias(this.layer, T))); // [B·H, T, T]
    }
    const weights = tf.softmax(biased); // [B·H, T, T]
    const y = tf.matMul(weights, v) as tf.Tensor3D; // [B·H, T, hd]
    return this.heads.merge(y, B, T);
  }

  static paramCount(d: number): number {
    return HeadProjections.paramCount(d);
  }
}

export function rotaryConstants(ctx: SequenceContext, T: number, hd: number) {
  return {
    cos: ctx.constants.get(`rotary-cos:${T}:${hd}`, () => rotaryTables(T, hd).cos),
    sin: ctx.constants.get(`rotary-sin:${T}:${hd}`, () => rotaryTables(T, hd).sin),
    rotateHalf: ctx.constants.get(`rotary-r:${hd}`, () => rotaryTables(1, hd).rotateHalf),
  };
}
