/**
 * One Transformer layer: an attention op and a feed-forward op, each in a residual branch with a norm.
 *   pre-LN / RMSNorm (Xiong et al. 2020; GPT-2):  x ← x + drop(attn(norm₁(x)));  x ← x + drop(ffn(norm₂(x)))
 *   post-LN (Vaswani et al. 2017):                x ← norm₁(x + drop(attn(x)));  x ← norm₂(x + drop(ffn(x)))
 * The two ops are any SequenceOp, so a DARTS mixed op can take the place of either.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NormKind } from "./architecture.js";
import type { Norm } from "./norm.js";
import type { SequenceContext, SequenceOp } from "./ops.js";

export class TransformerBlock {
  constructor(
    readonly attention: SequenceOp,
    readonly feedForward: SequenceOp,
    private readonly norm1: Norm,
    private readonly norm2: Norm,
    private readonly placement: NormKind,
  ) {}

  /** x: [B·T, d] → [B·T, d]; ctx.dropout sites are "attn" and "ffn". */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    if (this.placement === "post_ln") {
      const h = this.norm1.apply(tf.add(x, ctx.dropout(this.attention.apply(x, ctx), "attn")) as tf.Tensor2D);
      return this.norm2.apply(tf.add(h, ctx.dropout(this.feedForward.apply(h, ctx), "ffn")) as tf.Tensor2D);
    }
    const h = tf.add(x, ctx.dropout(this.attention.apply(this.norm1.apply(x), ctx), "attn")) as tf.Tensor2D;
    return tf.add(h, ctx.dropout(this.feedForward.apply(this.norm2.apply(h), ctx), "ffn")) as tf.Tensor2D;
  }
}
