/** Gradient clipping by global norm (Pascanu et al. 2013): g ← g · min(1, maxNorm / ‖g‖₂) over all gradients. */
import * as tf from "@tensorflow/tfjs-core";

/** ‖g‖₂ over all gradients together. */
export function globalNorm(grads: readonly tf.Tensor[]): number {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
}

/**
 * Scales the gradients down to `maxNorm` when their global norm exceeds it. Returns the norm before clipping and
 * either new tensors (`clipped: true`, the caller disposes them) or the inputs themselves (`clipped: false`).
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: number; clipped: boolean } {
  const norm = globalNorm(grads);
  if (!(Number.isFinite(norm) && norm > maxNorm)) return { grads: [...grads], norm, clipped: false };
  const scale = maxNorm / (norm + 1e-6);
  return { grads: grads.map((g) => tf.mul(g, scale)), norm, clipped: true };
}
