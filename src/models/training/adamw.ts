/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay,
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(m̂/(√v̂ + ε) + λθ)   (λθ only for decayed parameters)
 * The learning rate is given per step (schedules live outside). By default, as in nanoGPT, only parameters with
 * two or more dimensions (matrices, embeddings) are decayed, not biases and norm gains.
 *
 * Two implementations of the same update: with tensor ops (for GPU backends), or on the host in plain loops over
 * Float32Arrays (`host`, the default on the wasm and cpu backends, where the ~12 small kernels per parameter cost
 * more in dispatch than the arithmetic: one download of the gradient and one upload of the new weights instead).
 */
import * as tf from "@tensorflow/tfjs-core";

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.99
  epsilon?: number; // default 1e-8
  weightDecay?: number; // default 0.1
  /** Which variables get weight decay; default: rank ≥ 2. */
  decay?: (v: tf.Variable) => boolean;
  /** Update on the host (JS loops) instead of with tensor ops; default: true on the wasm and cpu backends. */
  host?: boolean;
}

export class AdamW {
  readonly host: boolean;
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
    if (this.host) {
      this.m = variables.map((v) => new Float32Array(v.size));
      this.v = variables.map((v) => new Float32Array(v.size));
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

  get stepCount(): number {
    return this.t;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) if (!(t instanceof Float32Array)) t.dispose();
  }
}
