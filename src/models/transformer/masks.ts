/**
 * Which keys each query may attend to, as T×T 0/1 matrices (row = query i, column = key j). Every pattern is
 * causal (j ≤ i). Masks are constants, never `bandPart` on a trainable tensor (no gradient there).
 *   - full:    j ≤ i
 *   - local:   i − window < j ≤ i                                   (sliding window, e.g. Longformer's local part)
 *   - strided: j ≤ i and (i − j < stride or (i − j) mod stride = 0) (Sparse Transformer, Child et al. 2019, §4.1:
 *              the union of its two strided heads, "previous stride positions" and "every stride-th position")
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AttentionKind, LayerSpec } from "./architecture.js";

export function allows(kind: AttentionKind, i: number, j: number, opts: { window?: number; stride?: number } = {}): boolean {
  if (j > i) return false;
  const d = i - j;
  switch (kind) {
    case "full":
    case "linear":
      return true;
    case "local":
      return d < (opts.window ?? 1);
    case "strided": {
      const s = opts.stride ?? 1;
      return d < s || d % s === 0;
    }
  }
}

/** T×T 0/1 allowed-pattern matrix, row-major. */
export function allowedPattern(layer: Pick<LayerSpec, "attention" | "window" | "stride">, T: number): Float32Array {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) if (allows(layer.attention, i, j, layer)) m[i * T + j] = 1;
  return m;
}

/** Additive score bias [T, T]: 0 where allowed, −1e9 elsewhere (softmax sends those weights to 0). */
export function maskBias(layer: Pick<LayerSpec, "attention" | "window" | "stride">, T: number): tf.Tensor2D {
  const allowed = allowedPattern(layer, T);
  const bias = allowed.map((a) => (a ? 0 : -1e9));
  return tf.tensor2d(bias, [T, T]);
}

export function maskKey(layer: Pick<LayerSpec, "attention" | "window" | "stride">, T: number): string {
  return `mask:${layer.attention}:${layer.window ?? 0}:${layer.stride ?? 0}:${T}`;
}
