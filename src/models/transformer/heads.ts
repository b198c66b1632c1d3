/**
 * Multi-head projections shared by every attention kind (Vaswani et al. 2017, §3.2.2): x·W_q, x·W_k, x·W_v split
 * into heads, and the merge back to [B·T, d] before the output projection. Three projections rather than one fused
 * [d, 3d] one: splitting a fused result costs a rank-5 transpose and a split on tfjs-wasm, more than the two extra
 * matMul calls.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Linear } from "./linear.js";
import type { ParamStore } from "./params.js";

export class HeadProjections {
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly out: Linear;

  constructor(params: ParamStore, name: string, readonly d: number, readonly nHeads: number, nLayers: number) {
    this.q = new Linear(params, `${name}.q`, d, d);
    this.k = new Linear(params, `${name}.k`, d, d);
    this.v = new Linear(params, `${name}.v`, d, d);
    this.out = new Linear(params, `${name}.out`, d, d, 0.02 / Math.sqrt(2 * nLayers));
  }

  /** x: [B·T, d] → q, k, v: [B·H, T, hd] each. */
  split(x: tf.Tensor2D, B: number, T: number): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
    const H = this.nHeads;
    const hd = this.d / H;
    const heads = (p: Linear) => tf.reshape(tf.transpose(tf.reshape(p.apply(x), [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]) as tf.Tensor3D; // [B·H, T, hd]
    return [heads(this.q), heads(this.k), heads(this.v)];
  }

  /** y: [B·H, T, hd] → [B·T, d] through the output projection. */
  merge(y: tf.Tensor3D, B: number, T: number): tf.Tensor2D {
    const H = this.nHeads;
    const hd = this.d / H;
    const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, this.d]) as tf.Tensor2D; // [B·T, d]
    return this.out.apply(merged);
  }

  static paramCount(d: number): number {
    return 4 * Linear.paramCount(d, d);
  }
}
