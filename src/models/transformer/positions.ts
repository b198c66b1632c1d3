/**
 * Position schemes. `sinusoidal` and `learned` are added to the token embeddings; `alibi` is a bias on attention
 * scores; `rotary` rotates queries and keys. The last two have no parameters.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Vaswani et al. 2017, §3.5: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)). [T, d] */
export function sinusoidalTable(T: number, d: number): tf.Tensor2D {
  const values = new Float32Array(T * d);
  for (let p = 0; p < T; p++) {
    for (let c = 0; c < d; c++) {
      const i = Math.floor(c / 2);
      const angle = p / Math.pow(10000, (2 * i) / d);
      values[p * d + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [T, d]);
}

/**
 * ALiBi head slopes (Press et al. 2022, "Train Short, Test Long"): the geometric sequence 2^(−8h/H) for a power-of-
 * two H; otherwise the slopes of the nearest lower power of two plus every other slope of the next one (their code).
 */
export function alibiSlopes(H: number): number[] {
  const pow2 = (n: number) => Array.from({ length: n }, (_, h) => Math.pow(2, (-8 * (h + 1)) / n));
  if (Number.isInteger(Math.log2(H))) return pow2(H);
  const lower = Math.pow(2, Math.floor(Math.log2(H)));
  return [...pow2(lower), ...pow2(2 * lower).filter((_, i) => i % 2 === 0).slice(0, H - lower)];
}

/** ALiBi score bias [H, T, T]: −m_h · (i − j) for key j ≤ query i (future keys are masked elsewhere). */
export function alibiBias(H: number, T: number): tf.Tensor3D {
  const slopes = alibiSlopes(H);
  const values = new Float32Array(H * T * T);
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) values[(h * T + i) * T + j] = -slopes[h]! * (i - j);
  return tf.tensor3d(values, [H, T, T]);
}

/**
 * Rotary tables (Su et al. 2021, RoFormer), rotate-half layout (GPT-NeoX): channel c and c + hd/2 form a pair
 * rotated by angle p·θ_k, θ_k = 10000^(−2k/hd). Returns cos and sin [T, hd] (each frequency twice) and the constant
 * rotate-half matrix R [hd, hd] with x·R = concat(−x₂, x₁): a matMul instead of a slice, since stridedSlice has no
 * gradient in tfjs.
 */
export function rotaryTables(T: number, hd: number): { cos: tf.Tensor2D; sin: tf.Tensor2D; rotateHalf: tf.Tensor2D } {
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

/** x: [N, T, hd] (N = B·H) → x·cos + rotate_half(x)·sin, position p = index along T. */
export function applyRotary(x: tf.Tensor3D, tables: { cos: tf.Tensor2D; sin: tf.Tensor2D; rotateHalf: tf.Tensor2D }): tf.Tensor3D {
  const [n, T, hd] = x.shape;
  const cos = tf.slice(tables.cos, [0, 0], [T, hd]);
  const sin = tf.slice(tables.sin, [0, 0], [T, hd]);
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [n * T, hd]), tables.rotateHalf), [n, T, hd]);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor3D;
}
