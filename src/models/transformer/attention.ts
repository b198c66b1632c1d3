/**
 * Every attention kind of a layer, each a SequenceOp ([B·T, d] → [B·T, d]):
 *   - softmax attention (Vaswani et al. 2017): `full`, `local` and `strided` differ only in a constant causal mask;
 *   - causal linear attention (Katharopoulos et al. 2020): `linear`, prefix sums instead of a score matrix;
 * and the two position schemes that act inside attention: ALiBi, a bias on the scores (Press et al. 2022), and
 * rotary, a rotation of queries and keys (Su et al. 2021). Neither has parameters. The schemes added to the token
 * embeddings (`sinusoidal`, `learned`) are model.ts's business.
 *
 * Shapes: B sequences, T positions, d = d_model, H heads, hd = d / H; N = B·H when heads are a batch axis.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedAttention } from "../fused-ops.js";
import { fusedKernels } from "../native-kernels.js";
import { chunkLength, type AttentionKind, type LayerSpec } from "./config.js";
import { Linear, type ParamStore, type SequenceContext, type SequenceOp } from "./nn.js";

// ---------------------------------------------------------------------------------------------------------------
// Masks

/**
 * Which keys each query may attend to, as T×T 0/1 matrices (row = query i, column = key j). Every pattern is
 * causal (j ≤ i). Masks are constants, never `bandPart` on a trainable tensor (no gradient there).
 *   - full:    j ≤ i
 *   - local:   i − window < j ≤ i                                   (sliding window, e.g. Longformer's local part)
 *   - strided: j ≤ i and (i − j < stride or (i − j) mod stride = 0) (Sparse Transformer, Child et al. 2019, §4.1:
 *              the union of its two strided heads, "previous stride positions" and "every stride-th position")
 */
function allows(kind: AttentionKind, i: number, j: number, opts: { window?: number; stride?: number } = {}): boolean {
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

type MaskSpec = Pick<LayerSpec, "attention" | "window" | "stride">;

/** T×T 0/1 allowed-pattern matrix, row-major. */
export function allowedPattern(layer: MaskSpec, T: number): Float32Array {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) if (allows(layer.attention, i, j, layer)) m[i * T + j] = 1;
  return m;
}

/** Additive score bias [T, T]: 0 where allowed, −1e9 elsewhere (softmax sends those weights to 0). */
function maskBias(layer: MaskSpec, T: number): tf.Tensor2D {
  const allowed = allowedPattern(layer, T);
  const bias = allowed.map((a) => (a ? 0 : -1e9));
  return tf.tensor2d(bias, [T, T]);
}

function maskKey(layer: MaskSpec, T: number): string {
  return `mask:${layer.attention}:${layer.window ?? 0}:${layer.stride ?? 0}:${T}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Positions inside attention

/**
 * ALiBi head slopes (Press et al. 2022, "Train Short, Test Long"): the geometric sequence 2^(−8h/H) for a power-of-
 * two H; otherwise the slopes of the nearest lower power of two plus every other slope of the next one (their code).
 */
function alibiSlopes(H: number): number[] {
  const pow2 = (n: number) => Array.from({ length: n }, (_, h) => Math.pow(2, (-8 * (h + 1)) / n));
  if (Number.isInteger(Math.log2(H))) return pow2(H);
  const lower = Math.pow(2, Math.floor(Math.log2(H)));
  return [...pow2(lower), ...pow2(2 * lower).filter((_, i) => i % 2 === 0).slice(0, H - lower)];
}

/** ALiBi score bias [H, T, T]: −m_h · (i − j) for key j ≤ query i (future keys are masked separately). */
function alibiBias(H: number, T: number): tf.Tensor3D {
  const slopes = alibiSlopes(H);
  const values = new Float32Array(H * T * T);
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) values[(h * T + i) * T + j] = -slopes[h]! * (i - j);
  return tf.tensor3d(values, [H, T, T]);
}

interface RotaryTables {
  cos: tf.Tensor2D; // [T, hd]
  sin: tf.Tensor2D; // [T, hd]
  rotateHalf: tf.Tensor2D; // [hd, hd]
}

/**
 * Rotary tables (Su et al. 2021, RoFormer), rotate-half layout (GPT-NeoX): channel c and c + hd/2 form a pair
 * rotated by angle p·θ_k, θ_k = 10000^(−2k/hd). Returns cos and sin [T, hd] (each frequency twice) and the constant
 * rotate-half matrix R [hd, hd] with x·R = concat(−x₂, x₁): a matMul instead of a slice, since stridedSlice has no
 * gradient in tfjs.
 */
export function rotaryTables(T: number, hd: number): RotaryTables {
  const half = hd / 2;
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let p = 0; p < T; p++) {
    for (let c = 0; c < hd; c++) {
      const k = c % half;
      const angle = p * Math.pow(10000, (-2 * k) / hd);
      cos[p * hd + c] = Math.cos(angle);
      sin[p * hd + c] = Math.sin(angle);
    }
  }
  const r = new Float32Array(hd * hd);
  for (let c = 0; c < half; c++) {
    r[(c + half) * hd + c] = -1; // out[c] = −x[c + half]
    r[c * hd + c + half] = 1; // out[c + half] = x[c]
  }
  return { cos: tf.tensor2d(cos, [T, hd]), sin: tf.tensor2d(sin, [T, hd]), rotateHalf: tf.tensor2d(r, [hd, hd]) };
}

/** x: [N, T, hd] → x·cos + rotate_half(x)·sin, position p = index along T. */
export function applyRotary(x: tf.Tensor3D, tables: RotaryTables): tf.Tensor3D {
  const [n, T, hd] = x.shape;
  const cos = tf.slice(tables.cos, [0, 0], [T, hd]); // [T, hd]
  const sin = tf.slice(tables.sin, [0, 0], [T, hd]); // [T, hd]
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [n * T, hd]), tables.rotateHalf), [n, T, hd]); // [N, T, hd]
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor3D;
}

/** The rotary tables of length T from the model's constant cache. */
function rotaryConstants(ctx: SequenceContext, T: number, hd: number): RotaryTables {
  return {
    cos: ctx.constants.get(`rotary-cos:${T}:${hd}`, () => rotaryTables(T, hd).cos),
    sin: ctx.constants.get(`rotary-sin:${T}:${hd}`, () => rotaryTables(T, hd).sin),
    rotateHalf: ctx.constants.get(`rotary-r:${hd}`, () => rotaryTables(1, hd).rotateHalf),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Heads

/**
 * Multi-head projections shared by every attention kind (Vaswani et al. 2017, §3.2.2): x·W_q, x·W_k, x·W_v split
 * into heads, and the merge back to [B·T, d] before the output projection. Three projections rather than one fused
 * [d, 3d] one: splitting a fused result costs a rank-5 transpose and a split on tfjs-wasm, more than the two extra
 * matMul calls. The output projection is initialised with std 0.02/√(2·n_layers) as in GPT-2 (residual scaling).
 */
class HeadProjections {
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly out: Linear;
  readonly hd: number;

  constructor(params: ParamStore, name: string, readonly d: number, readonly nHeads: number, nLayers: number) {
    this.hd = d / nHeads;
    this.q = new Linear(params, `${name}.q`, d, d);
    this.k = new Linear(params, `${name}.k`, d, d);
    this.v = new Linear(params, `${name}.v`, d, d);
    this.out = new Linear(params, `${name}.out`, d, d, 0.02 / Math.sqrt(2 * nLayers));
  }

  /** x: [B·T, d] → q, k, v: [B·H, T, hd] each, with rotary positions applied to q and k. */
  split(x: tf.Tensor2D, ctx: SequenceContext): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
    const { batch: B, seqLen: T } = ctx;
    const { nHeads: H, hd } = this;
    const heads = (p: Linear) => tf.reshape(tf.transpose(tf.reshape(p.apply(x), [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]) as tf.Tensor3D; // [B·H, T, hd]
    const [q, k, v] = [heads(this.q), heads(this.k), heads(this.v)];
    if (ctx.positions !== "rotary") return [q, k, v];
    const tables = rotaryConstants(ctx, T, hd);
    return [applyRotary(q, tables), applyRotary(k, tables), v];
  }

  /** x: [B·T, d] → x·W_q, x·W_k, x·W_v, each [B·T, d] (heads side by side, not split). */
  project(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
    return [this.q.apply(x), this.k.apply(x), this.v.apply(x)];
  }

  /** y: [B·T, d] (heads side by side) → the output projection. */
  output(y: tf.Tensor2D): tf.Tensor2D {
    return this.out.apply(y);
  }

  /** y: [B·H, T, hd] → [B·T, d] through the output projection. */
  merge(y: tf.Tensor3D, ctx: SequenceContext): tf.Tensor2D {
    const { batch: B, seqLen: T } = ctx;
    const { nHeads: H, hd } = this;
    const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, this.d]) as tf.Tensor2D; // [B·T, d]
    return this.out.apply(merged);
  }
}

interface AttentionOptions {
  d: number;
  nHeads: number;
  nLayers: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax attention

/**
 * softmax(q·kᵀ/√hd + bias)·v per head (Vaswani et al. 2017, eq. 1). The bias is the layer's constant mask, plus
 * the per-head ALiBi bias with `alibi` positions; with `rotary` positions q and k are rotated first.
 */
export class SoftmaxAttention implements SequenceOp {
  readonly kind: string;
  private readonly heads: HeadProjections;

  constructor(params: ParamStore, name: string, private readonly layer: LayerSpec, opts: AttentionOptions) {
    this.kind = `attention:${layer.attention}`;
    this.heads = new HeadProjections(params, name, opts.d, opts.nHeads, opts.nLayers);
  }

  /** x: [B·T, d] → [B·T, d] */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const { batch: B, seqLen: T } = ctx;
    const { nHeads: H, hd } = this.heads;
    if (fusedKernels() && ctx.positions !== "rotary") {
      // The native route: the same quantity in one call per direction, heads read in place (fused-ops.ts).
      const [q, k, v] = this.heads.project(x); // [B·T, d] each
      const bias = ctx.positions === "alibi" ? this.alibiMask(H, T, ctx) : ctx.constants.get(maskKey(this.layer, T), () => maskBias(this.layer, T));
      return this.heads.output(fusedAttention(q, k, v, bias, { batch: B, heads: H, scale: 1 / Math.sqrt(hd) }));
    }
    const [q, k, v] = this.heads.split(x, ctx); // [B·H, T, hd]
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)); // [B·H, T, T]
    let biased: tf.Tensor;
    if (ctx.positions === "alibi") {
      const bias = this.alibiMask(H, T, ctx); // [H, T, T]
      biased = tf.reshape(tf.add(tf.reshape(scores, [B, H, T, T]), bias), [B * H, T, T]);
    } else {
      biased = tf.add(scores, ctx.constants.get(maskKey(this.layer, T), () => maskBias(this.layer, T))); // [B·H, T, T]
    }
    const weights = tf.softmax(biased); // [B·H, T, T]
    const y = tf.matMul(weights, v) as tf.Tensor3D; // [B·H, T, hd]
    return this.heads.merge(y, ctx);
  }

  /** The ALiBi bias plus the layer's mask, [H, T, T], from the model's constant cache. */
  private alibiMask(H: number, T: number, ctx: SequenceContext): tf.Tensor3D {
    return ctx.constants.get(`alibi+${maskKey(this.layer, T)}:${H}`, () => tf.add(alibiBias(H, T), maskBias(this.layer, T)) as tf.Tensor3D);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Linear attention

/**
 * Causal linear attention (Katharopoulos et al. 2020, "Transformers are RNNs", eq. 9 with causal masking):
 *   y_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i),  S_i = Σ_{j≤i} φ(k_j) v_jᵀ,  z_i = Σ_{j≤i} φ(k_j),  φ(x) = elu(x) + 1 > 0.
 * The prefix sums S_i and z_i are cumulative sums along the sequence, so the cost is linear in T. They are taken
 * per chunk of C positions (the chunked form of e.g. Hua et al. 2022, "Transformer Quality in Linear Time"): inside
 * a chunk the masked quadratic form, across chunks the prefix sum of the chunks' φ(K)ᵀV, so only T/C states of
 * hd×hd are held (memory O(T·hd²/C) instead of O(T·hd²)). No score matrix exists, so ALiBi does not apply here (such
 * a layer relies on causal order alone); rotary is applied to q and k before φ.
 */
export class LinearAttention implements SequenceOp {
  readonly kind = "attention:linear";
  private readonly heads: HeadProjections;

  constructor(params: ParamStore, name: string, _layer: LayerSpec, opts: AttentionOptions) {
    this.heads = new HeadProjections(params, name, opts.d, opts.nHeads, opts.nLayers);
  }

  /** x: [B·T, d] → [B·T, d] */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const [q, k, v] = this.heads.split(x, ctx); // [B·H, T, hd]
    return this.heads.merge(causalLinearAttention(q, k, v), ctx);
  }
}

const EPS = 1e-6;

/** φ(x) = elu(x) + 1 */
function featureMap(x: tf.Tensor3D): tf.Tensor3D {
  return tf.add(tf.elu(x), 1) as tf.Tensor3D;
}

/**
 * Inclusive prefix sum along axis 1 of [N, T, c]. tfjs's Cumsum gradient is wrong for an axis other than the last
 * (it returns a transposed shape), so the sum runs along the last axis of the transposed tensor.
 */
function prefixSum(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(tf.cumsum(tf.transpose(x, [0, 2, 1]), 2), [0, 2, 1]) as tf.Tensor3D;
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
  const fq = featureMap(q); // [N, T, hd]
  const fk = featureMap(k); // [N, T, hd]
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
  return tf.div(tf.matMul(a, v), tf.add(tf.sum(a, -1, true), EPS)) as tf.Tensor3D; // [N, T, hd]
}
