/**
 * Splitting a batch of vectors by a binary mask and merging it back, differentiably on every tfjs backend.
 * A prefix mask (1…1 0…0) uses slice/concat; any other mask (checkerboard, alternating rows) uses constant
 * one-hot selection matrices, x_A = x·S_A, because the gradient of `tf.gather` needs `UnsortedSegmentSum`,
 * which the wasm backend lacks.
 */
import * as tf from "@tensorflow/tfjs-core";

export class MaskSplit {
  /** Indices with mask 1 (the identity / conditioning part A) and 0 (the transformed part B). */
  readonly a: number[];
  readonly b: number[];
  private readonly prefix: boolean;
  private selA?: tf.Tensor2D;
  private selB?: tf.Tensor2D;
  private selAT?: tf.Tensor2D;
  private selBT?: tf.Tensor2D;

  constructor(readonly mask: readonly number[]) {
    this.a = [];
    this.b = [];
    mask.forEach((m, i) => (m ? this.a : this.b).push(i));
    if (this.a.length === 0 || this.b.length === 0) throw new Error("a coupling mask needs both 0s and 1s");
    this.prefix = this.a.every((v, i) => v === i);
    if (!this.prefix) {
      const d = mask.length;
      const sel = (idx: number[]) => {
        const m = new Float32Array(d * idx.length);
        idx.forEach((v, j) => (m[v * idx.length + j] = 1));
        return tf.tensor2d(m, [d, idx.length]);
      };
      this.selA = sel(this.a);
      this.selB = sel(this.b);
      this.selAT = tf.transpose(this.selA);
      this.selBT = tf.transpose(this.selB);
    }
  }

  /** x [batch, dim] → (x_A [batch, |A|], x_B [batch, |B|]). */
  split(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    if (this.prefix) return tf.split(x, [this.a.length, this.b.length], 1) as [tf.Tensor2D, tf.Tensor2D];
    return [tf.matMul(x, this.selA!), tf.matMul(x, this.selB!)];
  }

  /** Inverse of `split`. */
  merge(xa: tf.Tensor2D, xb: tf.Tensor2D): tf.Tensor2D {
    if (this.prefix) return tf.concat([xa, xb], 1);
    return tf.tidy(() => tf.add(tf.matMul(xa, this.selAT!), tf.matMul(xb, this.selBT!)));
  }

  dispose(): void {
    for (const t of [this.selA, this.selB, this.selAT, this.selBT]) t?.dispose();
  }
}
