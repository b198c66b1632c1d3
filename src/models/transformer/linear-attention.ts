/**
 * Causal linear attention (Katharopoulos et al. 2020, "Transformers are RNNs", eq. 9 with causal masking):
 *   y_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i),  S_i = Σ_{j≤i} φ(k_j) v_jᵀ,  z_i = Σ_{j≤i} φ(k_j),  φ(x) = elu(x) + 1 > 0.
 * The prefix sums S_i and z_i are cumulative sums along the sequence, so the cost is linear in T. They are taken
 * per chunk of C positions (the chunked form of e.g. Hua et al. 2022, "Transformer Quality in Linear Time"): inside
 * a chunk the masked quadratic form, across chunks the prefix sum of the chunks' φ(K)ᵀV, so only T/C states of
 * hd×hd are held (memory O(T·hd²/C) instead of O(T·hd²)). No score matrix exists, so ALiBi does not apply here (such
 * a layer relies on causal order alone); rotary is applied to q and k before φ.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LayerSpec } from "./architecture.js";
import { rotaryConstants } from "./attention.js";
import { HeadProjections } from "./heads.js";
import type { SequenceContext, SequenceOp } from "./ops.js";
import type { ParamStore } from "./params.js";
import { applyRotary } from "./positions.js";

const EPS = 1e-6;

/** φ(x) = elu(x) + 1 */
export function featureMap(x: tf.Tensor3D): tf.Tensor3D {
  return tf.add(tf.elu(x), 1) as tf.Tensor3D;
}

/**
 * Inclusive prefix sum along axis 1 of [N, T, c]. tfjs's Cumsum gradient is wrong for an axis other than the last
 * (it returns a transposed shape), so the sum runs along the last axis of the transposed tensor.
 */
export function prefixSum(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(tf.cumsum(tf.transpose(x, [0, 2, 1]), 2), [0, 2, 1]) as tf.Tensor3D;
}

/** Chunk length used by `causalLinearAttention`: the largest divisor of T not above 16. */
export function chunkLength(T: number, max = 16): number {
  for (let c = Math.min(max, T); c > 1; c--) if (T % c === 0) return c;
  return 1;
}

/**
 * Causal linear attention, chunked. q, k, v: [N, T, hd] → [N, T, hd]. With nC = T / C chunks, for chunk c:
 *   y = (tril(φQ_c φK_cᵀ)·V_c + φQ_c·S_c) / (rowsum(tril(φQ_c φK_cᵀ)) + φQ_c·z_c),
 *   S_c = Σ_{c' < c} φK_c'ᵀ V_c',  z_c = Σ_{c' < c} Σ_rows φK_c'   (exclusive prefix sums over chunks).
 */
export function causalLinearAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, chunk = chunkLength(q.shape[1])): tf.Tensor3D {
  const [n, T, hd] = q.shape;
  if (chunk <= 1) return causalLinearAttentionByPosition(q, k, v);
  const C = chunk;
  const nC = T / C;
  const fq = tf.reshape(featureMap(q), [n * nC, C, hd]); // [N·nC, C, hd]
  const fk = tf.reshape(featureMap(k), [n * nC, C, hd]);
  const vc = tf.reshape(v, [n * nC, C, hd]);
  const tril = tf.linalg.bandPart(tf.ones([C, C]), -1, 0); // constant causal mask inside a chunk
  const a = tf.mul(tf.matMul(fq, fk, false, true), tril); // [N·nC, C, C]
  const kvChunk = tf.reshape(tf.matMul(fk, vc, true, false), [n, nC, hd * hd]); // [N, nC, hd·hd]: φK_cᵀ V_c
  const kChunk = tf.reshape(tf.sum(fk, 1), [n, nC, hd]); // [N, nC, hd]
  const S = tf.reshape(tf.sub(prefixSum(kvChunk as tf.Tensor3D), kvChunk), [n * nC, hd, hd]); // exclusive: [N·nC, hd, hd]
  const z = tf.reshape(tf.sub(prefixSum(kChunk as tf.Tensor3D), kChunk), [n * nC, hd, 1]); // [N·nC, hd, 1]
  const num = tf.add(tf.matMul(a, vc), tf.matMul(fq, S)); // [N·nC, C, hd]
  const den = tf.add(tf.sum(a, -1, true), tf.matMul(fq, z)); // [N·nC, C, 1]
  return tf.reshape(tf.div(num, tf.add(den, EPS)), [n, T, hd]) as tf.Tensor3D;
}

/** The unchunked form: one hd×hd state per position. q, k, v: [N, T, hd] → [N, T, hd]. */
export function causalLinearAttentionByPosition(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  const [n, T, hd] = q.shape;
  const fq = featureMap(q);
  const fk = featureMap(k);
  const kv = tf.mul(tf.reshape(fk, [n, T, hd, 1]), tf.reshape(v, [n, T, 1, hd])); // [N, T, hd, hd]: φ(k_j) v_jᵀ
  const S = prefixSum(tf.reshape(kv, [n, T, hd * hd]) as tf.Tensor3D); // [N, T, hd·hd]
  const S4 = tf.reshape(S, [n, T, hd, hd]); // [N, T, hd, hd]
  const z = prefixSum(fk); // [N, T, hd]
  const num = tf.sum(tf.mul(tf.reshape(fq, [n, T, hd, 1]), S4), 2); // [N, T, hd]: φ(q_i)ᵀ S_i
  const den = tf.sum(tf.mul(fq, z), -1, true); // [N, T, 1]
  return tf.div(num, tf.add(den, EPS)) as tf.Tensor3D;
}

/** The same quantity in quadratic form: (φ(Q)φ(K)ᵀ ⊙ M)·V / rowsum, M the causal 0/1 mask. For tests. */
export function naiveLinearAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  const T = q.shape[1];
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // constant lower-triangular
  const a = tf.mul(tf.matMul(featureMap(q), featureMap(k), false, true), mask); // [N, T, T]
  return tf.div(tf.matMul(a, v), tf.add(tf.sum(a, -1, true), EPS)) as tf.Tensor3D;
}

export class LinearAttention implements SequenceOp {
  readonly kind = "attention:linear";
  private readonly heads: HeadProjections;

  constructor(params: ParamStore, name: string, _layer: LayerSpec, opts: { d: number; nHeads: number; nLayers: number }) {
    this.heads = new HeadProjections(params, name, opts.d, opts.nHeads, opts.nLayers);
  }

  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const { batch: B, seqLen: T } = ctx;
    const hd = this.heads.d / this.heads.nHeads;
    let [q, k, v] = this.heads.split(x, B, T); // [B·H, T, hd]
    if (ctx.positions === "rotary") {
      const tables = rotaryConstants(ctx, T, hd);
      q = applyRotary(q, tables);
      k = applyRotary(k, tables);
    }
    return this.heads.merge(causalLinearAttention(q, k, v), B, T);
  }

  static paramCount(d: number): number {
    return HeadProjections.paramCount(d);
  }
}
