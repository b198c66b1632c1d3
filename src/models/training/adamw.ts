/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay,
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(m̂/(√v̂ + ε) + λθ)   (λθ only for decayed parameters)
 * The learning rate is given per step (schedules live outside). By default, as in nanoGPT, only parameters with
 * two or more dimensions (matrices, embeddings) are decayed, not biases and norm gains.
 *
 * Three implementations of the same update: with tensor ops (for GPU backends), on the host in plain loops over
 * Float32Arrays (`host`, the default on the wasm and cpu backends, where the ~12 small kernels per parameter cost
 * more in dispatch than the arithmetic: one download of the gradient and one upload of the new weights instead),
 * and, where the fused native kernels are in use (src/models/native-kernels.ts), one native call for every
 * parameter reading gradients and weights in place on the wasm heap (`native`: no download, no upload; the same
 * arithmetic as the host loops, in double precision, on the same state).
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedKernels, heapOf, heapOffset, type WasmBackend } from "../native-kernels.js";

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.99
  epsilon?: number; // default 1e-8
  weightDecay?: number; // default 0.1
  /** Which variables get weight decay; default: rank ≥ 2. */
  decay?: (v: tf.Variable) => boolean;
  /** Update on the host (JS loops) instead of with tensor ops; default: true on the wasm and cpu backends. */
  host?: boolean;
  /** On the host, with the fused native kernels when they are in use (default true; false: JS loops). */
  native?: boolean;
}

export class AdamW {
  readonly host: boolean;
  /** Host updates run as one native call (`stepFused`); the state is the same as the JS loops'. */
  readonly native: boolean;
  /** Every parameter's m and v one after the other (host mode; this.m[i], this.v[i] are views into them). */
  private readonly mAll?: Float32Array;
  private readonly vAll?: Float32Array;
  private readonly m: Array<tf.Variable | Float32Array>;
  private readonly v: Array<tf.Variable | Float32Array>;
  private readonly decayed: boolean[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;

  constructor(readonly variables: readonly tf.Variable[], opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.99;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    this.host = opts.host ?? ["wasm", "cpu"].includes(tf.getBackend());
    const decay = opts.decay ?? ((v) => v.rank >= 2);
    this.decayed = variables.map(decay);
    this.native = this.host && opts.native !== false && fusedKernels() !== null;
    if (this.host) {
      const total = variables.reduce((n, v) => n + v.size, 0);
      const [mAll, vAll] = [new Float32Array(total), new Float32Array(total)];
      let start = 0;
      const views = variables.map((v) => [start, (start += v.size)] as const);
      this.m = views.map(([a, b]) => mAll.subarray(a, b));
      this.v = views.map(([a, b]) => vAll.subarray(a, b));
      this.mAll = mAll;
      this.vAll = vAll;
    } else {
      // Inside tidy so the zero tensors are freed; tidy never disposes variables.
      this.m = tf.tidy(() => variables.map((v) => tf.variable(tf.zerosLike(v), false)));
      this.v = tf.tidy(() => variables.map((v) => tf.variable(tf.zerosLike(v), false)));
    }
  }

  /** Applies one update; `grads[i]` belongs to `variables[i]`, scaled by `gradScale` (clipping). Does not dispose them. */
  step(grads: readonly tf.Tensor[], lr: number, gradScale = 1): void {
    if (this.host) {
      this.stepHost(
        grads.map((g) => g.dataSync() as Float32Array),
        lr,
        gradScale,
      );
      return;
    }
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        const g = gradScale === 1 ? grads[i]! : tf.mul(grads[i]!, gradScale);
        const mi = this.m[i] as tf.Variable;
        const vi = this.v[i] as tf.Variable;
        const m = tf.add(tf.mul(mi, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(vi, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        mi.assign(m);
        vi.assign(v);
        let update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.epsilon));
        if (this.decayed[i] && this.weightDecay > 0) update = tf.add(update, tf.mul(p, this.weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      });
    });
  }

  /** The same update from gradients already on the host (e.g. read once for clipping). */
  stepHost(grads: readonly Float32Array[], lr: number, gradScale = 1): void {
    if (!this.host) throw new Error("stepHost needs an optimizer created with host: true");
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    this.variables.forEach((p, i) => {
      const g = grads[i]!;
      const m = this.m[i] as Float32Array;
      const v = this.v[i] as Float32Array;
      const w = p.dataSync() as Float32Array; // a copy on wasm and cpu reads
      const decay = this.decayed[i] ? this.weightDecay : 0;
      for (let j = 0; j < w.length; j++) {
        const gj = g[j]! * gradScale;
        const mj = (m[j] = b1 * m[j]! + (1 - b1) * gj);
        const vj = (v[j] = b2 * v[j]! + (1 - b2) * gj * gj);
        w[j] = w[j]! - lr * (mj / bc1 / (Math.sqrt(vj / bc2) + eps) + decay * w[j]!);
      }
      const next = tf.tensor(w, p.shape, "float32");
      p.assign(next);
      next.dispose();
    });
  }

  /**
   * The update with the fused native kernels: the gradients' global norm and then, scaled down to `clipNorm` when
   * above it (0: no clipping), the AdamW step of every parameter, in two native calls on the wasm heap. Returns the
   * norm before clipping. The same arithmetic as trainStep's host path with `stepHost` (norm in double precision).
   */
  stepFused(grads: readonly tf.Tensor[], lr: number, clipNorm: number): number {
    const kernels = fusedKernels();
    if (!this.native || !kernels) throw new Error("stepFused needs an optimizer created while the fused kernels are in use");
    const backend = tf.backend() as unknown as WasmBackend;
    const outs = this.variables.map((p) => backend.makeOutput(p.shape, "float32"));
    const table = new Float64Array(5 * this.variables.length);
    this.variables.forEach((p, i) => {
      table.set([heapOffset(backend, p), heapOffset(backend, grads[i]!), heapOffset(backend, outs[i]!), p.size, this.decayed[i] ? this.weightDecay : 0], 5 * i);
    });
    const heap = heapOf(backend);
    const norm = Math.sqrt(kernels.sumSquares(heap, table));
    const scale = clipNorm > 0 && Number.isFinite(norm) && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    kernels.adamw(heap, table, this.mAll!, this.vAll!, lr, this.beta1, this.beta2, this.epsilon, bc1, bc2, scale);
    // New tensors for the new weights (never written in place: XNNPACK caches packed weights per tensor).
    this.variables.forEach((p, i) => {
      const next = tf.engine().makeTensorFromTensorInfo(outs[i]!);
      p.assign(next);
      next.dispose();
    });
    return norm;
  }

  get stepCount(): number {
    return this.t;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) if (!(t instanceof Float32Array)) t.dispose();
  }
}
