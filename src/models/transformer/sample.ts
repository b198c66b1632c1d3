/** Autoregressive sampling from a trained model (temperature sampling over the last position's logits). */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";
import type { TransformerLM } from "./model.js";

export function sampleTokens(model: TransformerLM, prompt: number[], length: number, opts: { seed: number; temperature?: number }): number[] {
  const rng = new Rng(opts.seed);
  const temperature = opts.temperature ?? 1;
  const T = model.dims.contextLength;
  const tokens = prompt.length > 0 ? [...prompt] : [0];
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const context = tokens.slice(-T);
    const probs = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([context], [1, context.length], "int32")); // [t, V]
      const last = tf.slice(logits, [context.length - 1, 0], [1, model.dims.vocabSize]);
      return tf.softmax(tf.div(last, temperature)).dataSync() as Float32Array;
    });
    let u = rng.next();
    let next = probs.length - 1;
    for (let v = 0; v < probs.length; v++) {
      u -= probs[v]!;
      if (u <= 0) {
        next = v;
        break;
      }
    }
    tokens.push(next);
    out.push(next);
  }
  return out;
}
