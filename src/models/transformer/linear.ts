/** A dense layer on 2-D activations: [N, in] · W[in, out] + b[out]. Init N(0, std) as in GPT-2 / nanoGPT. */
import * as tf from "@tensorflow/tfjs-core";
import type { ParamStore } from "./params.js";

export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(params: ParamStore, name: string, inDim: number, outDim: number, std = 0.02) {
    this.w = params.add(`${name}.w`, [inDim, outDim], { kind: "normal", std });
    this.b = params.add(`${name}.b`, [outDim], { kind: "zeros" });
  }

  /** x: [N, in] → [N, out] */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b);
  }

  static paramCount(inDim: number, outDim: number): number {
    return inDim * outDim + outDim;
  }
}
