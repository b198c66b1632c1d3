/**
 * MADE: Masked Autoencoder for Distribution Estimation (Germain et al. 2015). An MLP whose weight matrices are
 * multiplied by constant 0/1 masks so that output i depends only on inputs ordered before i: input d has degree
 * d+1 (natural order; permutations between flow steps change the order), hidden unit k of every layer has a
 * degree m_k ∈ [1, D−1] (assigned cyclically, so every degree is present when width ≥ D−1), and
 *   input d → hidden k      iff m_k ≥ d+1
 *   hidden k' → hidden k    iff m_k ≥ m_k'
 *   hidden k → output i     iff i+1 > m_k
 * Outputs come in `outputsPerInput` blocks of D (e.g. shift and log-scale for MAF), each with the same mask.
 */
import { buildMlp, mlpParameterCount, type MlpSpec, type Sequential } from "./conditioner.js";
import type { Rng } from "./random.js";

/** The [depth + 1] masks of a MADE with `dim` inputs, `depth` hidden layers of `width` units. */
export function madeMasks(dim: number, width: number, depth: number, outputsPerInput: number): number[][][] {
  const inDeg = Array.from({ length: dim }, (_, d) => d + 1);
  const hidDeg = Array.from({ length: width }, (_, k) => (dim > 1 ? (k % (dim - 1)) + 1 : 1));
  const masks: number[][][] = [];
  masks.push(inDeg.map((di) => hidDeg.map((mk) => (mk >= di ? 1 : 0))));
  for (let l = 1; l < depth; l++) masks.push(hidDeg.map((mk1) => hidDeg.map((mk) => (mk >= mk1 ? 1 : 0))));
  const outDeg = Array.from({ length: outputsPerInput * dim }, (_, j) => (j % dim) + 1);
  masks.push(hidDeg.map((mk) => outDeg.map((od) => (od > mk ? 1 : 0))));
  return masks;
}

export type MadeSpec = Omit<MlpSpec, "inputs" | "outputs"> & { dim: number; outputsPerInput: number };

export function buildMade(spec: MadeSpec, rng: Rng): Sequential {
  const { dim, outputsPerInput, ...rest } = spec;
  return buildMlp({ inputs: dim, outputs: outputsPerInput * dim, ...rest }, rng, madeMasks(dim, spec.width, spec.depth, outputsPerInput));
}

/** Masked layers keep full weight matrices as variables, so MADE counts like the unmasked MLP. */
export function madeParameterCount(spec: MadeSpec): number {
  const { dim, outputsPerInput, ...rest } = spec;
  return mlpParameterCount({ inputs: dim, outputs: outputsPerInput * dim, ...rest });
}
