/**
 * The common signature of the interchangeable blocks of a Transformer layer. An attention kind and a feed-forward
 * kind are both `SequenceOp`s: they map activations `[B·T, d]` to `[B·T, d]` and see the sequence layout through
 * the context. A DARTS mixed operation (Liu et al. 2019) is then itself a SequenceOp that returns
 * Σ_i softmax(α)_i · op_i.apply(x, ctx) over candidates, `none` among them, without changing any candidate.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { PositionKind } from "./architecture.js";
import type { ConstantCache } from "./constants.js";

export interface SequenceContext {
  /** Sequences in the batch (B) and positions per sequence (T); activations are [B·T, d], sequence-major. */
  batch: number;
  seqLen: number;
  /** Training mode turns dropout on. */
  training: boolean;
  /** Position scheme of the model: `alibi` and `rotary` act inside attention. */
  positions: PositionKind;
  /** Dropout at `site` of the current layer; seeds derive from (trial seed, step, layer, site). Identity when off. */
  dropout(x: tf.Tensor2D, site: string): tf.Tensor2D;
  /** Constant tensors (masks, tables) shared by every layer and step, owned by the model. */
  constants: ConstantCache;
}

export interface SequenceOp {
  /** e.g. "attention:local", "ffn:swiglu", "none". */
  readonly kind: string;
  /** x: [B·T, d] → [B·T, d]. Must not dispose x. */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D;
}

/** The `none` candidate of a mixed operation: contributes nothing (a zero tensor of x's shape). */
export const noneOp: SequenceOp = {
  kind: "none",
  apply: (x) => tf.zerosLike(x),
};
