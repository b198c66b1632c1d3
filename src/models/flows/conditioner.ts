/**
 * Conditioner networks: the MLPs inside coupling layers (s, t = NN(x_A)) and MADE (autoregressive masks).
 *
 * They are built from small `Op`s (dense layer, activation, sequence) behind one interface, `apply(x) → y` on
 * (N, features), so a later DARTS issue can put a mixed operation (a softmax-weighted sum of candidate ops:
 * activations, layer widths, skip) anywhere inside a conditioner: the conditioner is an arbitrary function of the
 * conditioning inputs, so mixing inside it keeps the flow exactly invertible with an exact log-determinant.
 *
 * The coupling transforms themselves are deliberately NOT mixed: a weighted sum of two transforms' outputs,
 * α·f₁(x) + (1−α)·f₂(x), is in general not invertible in closed form and its log|det J| is not a combination of
 * the two log-determinants, so a "mixed coupling" would lose both exact sampling and exact likelihood.
 *
 * Also here: the seeded initialisers every block draws its initial values from.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../../core/rng.js";
import type { Activation, MlpSpec } from "./config.js";

// ---- Seeded initialisers ----
// tfjs has no global seed, so every variable of a flow is filled from one seeded generator (the sfc32 generator of
// src/core/rng.ts): the same architecture and seed build the same weights on every backend. Also used by the LU
// layer and random permutations (transforms.ts) and by base-distribution sampling (flow.ts).

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

// ---- Ops and MLPs ----

/** A differentiable function of (N, F) with its own trainable variables. */
export interface Op {
  apply(x: tf.Tensor2D): tf.Tensor2D;
  variables(): tf.Variable[];
  dispose(): void;
}

/**
 * tanh through the sigmoid: tanh(x) = 2σ(2x) − 1. Mathematically identical; on the tfjs wasm backend `Tanh` is
 * about 23× slower per element than `Sigmoid`. It costs three more kernels, though, and small tensors are
 * dominated by per-kernel overhead, so below `SMALL` elements the native op is used.
 */
const SMALL = 4096;
export function fastTanh(x: tf.Tensor): tf.Tensor {
  if (x.size < SMALL) return tf.tanh(x);
  return tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1));
}

export function activate(kind: Activation, x: tf.Tensor2D): tf.Tensor2D {
  switch (kind) {
    case "relu":
      return tf.relu(x);
    case "tanh":
      return fastTanh(x) as tf.Tensor2D;
    case "elu":
      return tf.elu(x);
    case "swish": // x·σ(x) (Ramachandran et al. 2017)
      return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
  }
}

export class ActivationOp implements Op {
  constructor(readonly kind: Activation) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return activate(this.kind, x);
  }
  variables(): tf.Variable[] {
    return [];
  }
  dispose(): void {}
}

/**
 * How a dense layer starts:
 *   - "fan-in" (hidden layers): W and b uniform on ±1/√fanIn, PyTorch's `nn.Linear` default (fanInUniform). Why
 *     not Glorot with zero biases: a 2-D coupling's conditioner sees ONE coordinate, so Glorot's limit
 *     √(6/(1 + width)) gives first-layer weights ≤ 0.22 for width 128 and every unit's pre-activation stays
 *     within ±0.6 of zero on standardised inputs. tanh, ELU and swish are nearly linear there, so the conditioner
 *     starts as a nearly linear function of its input and takes most of a training run to grow the sharp
 *     features a multimodal density needs. Measured on 8gaussians (12 affine steps,
 *     actnorm, width 128, depth 2, 1,500 steps, one run each): test gap with Glorot → fan-in: tanh 0.191 → 0.091,
 *     swish 0.223 → 0.125, ELU 0.331 → 0.171, ReLU 0.075 → 0.093 (ReLU's kinks need no large weights); the
 *     reference RealNVP (ReLU, 8 steps, width 64) 0.109 → 0.096.
 *   - { glorot: scale } (output layers): W Glorot-uniform × scale (0 gives W = 0), b = 0, see OUTPUT_INIT_SCALE.
 */
export type DenseInit = "fan-in" | { glorot: number };

/**
 * y = x·(W ⊙ M) + b, W and M (in, out), b (out). `mask` (constant 0/1) makes it MADE's masked layer; without
 * it, a plain dense layer. `relu: true` fuses a ReLU into the same kernel (`tf.fused.matMul`; tfjs has fused
 * gradients for linear and relu only): small conditioners are dominated by per-kernel overhead, so fewer kernels
 * means faster steps.
 */
export class Dense implements Op {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  private readonly mask?: tf.Tensor2D;
  /** Whether a ReLU is fused into the layer. */
  readonly relu: boolean;

  constructor(inputs: number, outputs: number, rng: Rng, opts: { init?: DenseInit; mask?: number[][]; relu?: boolean } = {}) {
    this.relu = opts.relu ?? false;
    const init = opts.init ?? "fan-in";
    const [w, b] =
      init === "fan-in"
        ? fanInUniform(rng, inputs, outputs)
        : [init.glorot === 0 ? tf.zeros([inputs, outputs]) : glorotUniform(rng, inputs, outputs, init.glorot), tf.zeros([outputs])];
    this.weight = tf.variable(w, true);
    this.bias = tf.variable(b, true);
    w.dispose();
    b.dispose();
    if (opts.mask) this.mask = tf.tensor2d(opts.mask, [inputs, outputs]);
  }

  /** x (N, in) → (N, out). */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const w = (this.mask ? tf.mul(this.weight, this.mask) : this.weight) as tf.Tensor2D;
      return tf.fused.matMul({ a: x, b: w, bias: this.bias, activation: this.relu ? "relu" : "linear" }) as tf.Tensor2D;
    });
  }

  /** Whether the weights are masked (MADE). */
  get masked(): boolean {
    return this.mask !== undefined;
  }

  variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
    this.mask?.dispose();
  }
}

export class Sequential implements Op {
  constructor(readonly ops: Op[]) {}
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.ops.reduce((h, op) => op.apply(h), x));
  }
  variables(): tf.Variable[] {
    return this.ops.flatMap((o) => o.variables());
  }
  dispose(): void {
    for (const o of this.ops) o.dispose();
  }
}

/**
 * The last layer of a conditioner starts at Glorot × OUTPUT_INIT_SCALE: small, so every coupling and MAF layer
 * starts close to identity (shifts and log-scales ≈ 0.1 of what a plain Glorot layer would give), but not zero.
 * A zero last layer (Glow's choice) makes "all layers at identity" a stationary point on mirror-symmetric data
 * such as 8gaussians:
 *   - additive coupling: the last layer's gradient is E[h(x_A) · z_B] with z_B = x_B at identity, which vanishes
 *     when E[x_B | x_A] = 0, and a zero last layer passes no gradient to the hidden layers;
 *   - affine coupling and MAF with an odd activation (tanh) and zero hidden biases: the conditioner is an odd
 *     function of x_A while the scale's gradient signal (x_B² − 1) is even in x_A, so E[h(x_A)(x_B² − 1)] = 0 as well.
 * Training then never leaves the Gaussian fit that actnorm or the base distribution provides (gap ≈ 1.42 nats on
 * 8gaussians). A small random last layer breaks the symmetry: gradients reach the hidden layers and biases.
 * That removes the stationary point, not every plateau. Measured on 8gaussians (NICE, reverse permutations, width
 * 32, depth 2, 400 steps at lr 1e-2, initial draws 1–4): 4-step flows with ReLU conditioners left the Gaussian fit
 * for 2 of 4 draws, 8-step ones for 4 of 4; 4-step flows with tanh, swish or ELU conditioners for at most 1 of 4.
 * On such data a single additive shear by t(x_A) only adds E[t²] to the variance (E[x_B | x_A] = 0), so leaving
 * the Gaussian fit takes several layers moving together.
 */
export const OUTPUT_INIT_SCALE = 0.1;

/**
 * inputs → [dense → activation] × depth → dense(outputs), the last layer small (near-identity transform at start,
 * see OUTPUT_INIT_SCALE); ReLU is fused into its dense layer. `masks` ([depth + 1] matrices) turn it into a MADE
 * network.
 */
export function buildMlp(spec: MlpSpec, rng: Rng, masks?: number[][][]): Sequential {
  const ops: Op[] = [];
  let fanIn = spec.inputs;
  for (let l = 0; l < spec.depth; l++) {
    if (spec.activation === "relu") ops.push(new Dense(fanIn, spec.width, rng, { mask: masks?.[l], relu: true }));
    else ops.push(new Dense(fanIn, spec.width, rng, { mask: masks?.[l] }), new ActivationOp(spec.activation));
    fanIn = spec.width;
  }
  ops.push(new Dense(fanIn, spec.outputs, rng, { init: { glorot: OUTPUT_INIT_SCALE }, mask: masks?.[spec.depth] }));
  return new Sequential(ops);
}
