/**
 * The plumbing every block of the model shares, what torch.nn gives nanoGPT: trainable parameters with a seeded
 * initialiser, a dense layer, a cache of constant tensors, and `SequenceOp`, the signature of the interchangeable
 * blocks of a layer. attention.ts and model.ts build on it.
 *
 * Shapes: B sequences, T positions, d = d_model; activations are 2-D [B·T, d], sequence-major, so that matMuls
 * take the fast path of tfjs-wasm.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";
import { fusedLinear } from "../fused-ops.js";
import { fusedKernels } from "../native-kernels.js";
import type { PositionKind } from "./config.js";

// ---------------------------------------------------------------------------------------------------------------
// Parameters

export type Init = { kind: "normal"; std: number } | { kind: "zeros" } | { kind: "ones" };

/**
 * Trainable parameters of a model, created with a seeded initialiser (tfjs has no global seed) and named by
 * where they live, e.g. `layers.2.attn.q.w`. The same seed gives the same initial weights on every backend.
 */
export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Creates a trainable variable; names must be unique. */
  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} exists`);
    const size = shape.reduce((p, s) => p * s, 1);
    const values = new Float32Array(size);
    if (init.kind === "ones") values.fill(1);
    else if (init.kind === "normal") for (let i = 0; i < size; i++) values[i] = init.std * this.rng.normal();
    const initial = tf.tensor(values, shape, "float32");
    const v = tf.variable(initial, true, `${name}_${uniqueSuffix()}`);
    initial.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  /** Name → variable, in creation order. */
  entries(): Array<[string, tf.Variable]> {
    return [...this.vars.entries()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of trainable scalars. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) if (v.trainable) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

// tfjs variable names are global to the engine: two models in one process must not collide.
let counter = 0;
function uniqueSuffix(): string {
  return (counter++).toString(36);
}

/** A dense layer on 2-D activations: [N, in] · W[in, out] + b[out]. Init N(0, std) as in GPT-2 / nanoGPT. */
export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(params: ParamStore, name: string, inDim: number, outDim: number, std = 0.02) {
    this.w = params.add(`${name}.w`, [inDim, outDim], { kind: "normal", std });
    this.b = params.add(`${name}.b`, [outDim], { kind: "zeros" });
  }

  /** x: [N, in] → [N, out]; on the native route one fused call (fused-ops.ts), the same quantity. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (fusedKernels() && x.dtype === "float32") return fusedLinear(x, this.w as tf.Tensor2D, this.b as tf.Tensor1D);
    return tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Constants

/**
 * Constant tensors (attention masks, position tables) built once per shape and reused by every layer and step.
 * The cache owns them: they are kept out of `tf.tidy` scopes and disposed with the model.
 */
export class ConstantCache {
  private readonly tensors = new Map<string, tf.Tensor>();

  get<T extends tf.Tensor>(key: string, build: () => T): T {
    let t = this.tensors.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(build));
      this.tensors.set(key, t);
    }
    return t as T;
  }

  get size(): number {
    return this.tensors.size;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sequence ops

/**
 * The common signature of the interchangeable blocks of a Transformer layer. An attention kind and a feed-forward
 * kind are both `SequenceOp`s: they map activations `[B·T, d]` to `[B·T, d]` and see the sequence layout through
 * the context. A DARTS mixed operation (Liu et al. 2019) is then itself a SequenceOp that returns
 * Σ_i softmax(α)_i · op_i.apply(x, ctx) over candidates, `none` among them, without changing any candidate.
 */
export interface SequenceOp {
  /** e.g. "attention:local", "ffn:swiglu", "none". */
  readonly kind: string;
  /** x: [B·T, d] → [B·T, d]. Must not dispose x. */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D;
}

export interface SequenceContext {
  /** Sequences in the batch (B) and positions per sequence (T); activations are [B·T, d], sequence-major. */
  batch: number;
  seqLen: number;
  /** Training mode turns dropout on. */
  training: boolean;
  /** Position scheme of the model: `alibi` and `rotary` act inside attention. */
  positions: PositionKind;
  /** Dropout at `site` of the current layer; seeds derive from (trial seed, step, layer, site). Identity when off. */
  dropout(x: tf.Tensor2D, site: string): tf.Tensor2D;
  /** Constant tensors (masks, tables) shared by every layer and step, owned by the model. */
  constants: ConstantCache;
  /**
   * Receives an op's auxiliary loss (a mixture of experts' load-balancing loss), which the model adds, weighted, to
   * its training loss. Absent when nobody differentiates the loss (evaluation): ops then skip computing it.
   */
  addLoss?(loss: tf.Scalar): void;
  /** True while a block runs again in the backward pass (recomputation): ops count their statistics once. */
  recomputing?: boolean;
}

/** The `none` candidate of a mixed operation: contributes nothing (a zero tensor of x's shape). */
export const noneOp: SequenceOp = {
  kind: "none",
  apply: (x) => tf.zerosLike(x),
};
