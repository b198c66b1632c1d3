/**
 * Seeded initialisers. tfjs has no global seed, so every variable of a flow is filled from one seeded generator
 * (the sfc32 generator of src/core/rng.ts, a dependency-free leaf module): the same architecture and seed
 * build the same weights on every backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";

export { Rng };

/** n values uniform on ±limit. */
function uniformValues(rng: Rng, n: number, limit: number): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * limit;
  return data;
}

/** Glorot/Xavier uniform [fanIn, fanOut] matrix, times `gain`. */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, gain = 1): tf.Tensor2D {
  return tf.tensor2d(uniformValues(rng, fanIn * fanOut, gain * Math.sqrt(6 / (fanIn + fanOut))), [fanIn, fanOut]);
}

/**
 * PyTorch's default for `nn.Linear` (what nflows' and other PyTorch flow implementations' conditioners start
 * from): weights and biases uniform on ±1/√fanIn. Returns [weight [fanIn, fanOut], bias [fanOut]].
 */
export function fanInUniform(rng: Rng, fanIn: number, fanOut: number): [tf.Tensor2D, tf.Tensor1D] {
  const limit = 1 / Math.sqrt(fanIn);
  return [tf.tensor2d(uniformValues(rng, fanIn * fanOut, limit), [fanIn, fanOut]), tf.tensor1d(uniformValues(rng, fanOut, limit))];
}

/** Normal(0, std²) values of the given shape. */
export function normalValues(rng: Rng, shape: number[], std = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return data;
}

/** A uniformly random permutation of 0..n-1. */
export function randomPermutation(rng: Rng, n: number): number[] {
  return rng.shuffle(Array.from({ length: n }, (_, i) => i));
}
