/**
 * The bi-level optimisation of DARTS (Liu et al. 2019, §2.3, Algorithm 1):
 *   min_α L_val(w*(α), α)   s.t.   w*(α) = argmin_w L_train(w, α)
 * solved by alternating, each iteration:
 *   1. update α by descending ∇α L_val(w − ξ∇w L_train(w, α), α)      (on a validation batch)
 *   2. update w by descending ∇w L_train(w, α)                         (on a training batch)
 *
 * First order (DARTS-V1, ξ = 0): the α gradient is ∇α L_val(w, α).
 * Second order (DARTS-V2, eq. 7–8): with the virtual step w′ = w − ξ∇w L_train(w, α),
 *   ∇α L_val(w′, α) − ξ ∇²_{α,w} L_train(w, α) ∇w′ L_val(w′, α)
 * and the Hessian–vector product by central finite differences,
 *   ∇²_{α,w} L_train(w, α)·v ≈ (∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)) / 2ε,   w± = w ± εv,  v = ∇w′ L_val(w′, α),
 * with ε = 0.01 / ‖v‖₂, as in the paper. The virtual step is a plain gradient step (the paper's code also folds in
 * the momentum buffer and weight decay of its SGD; our weights use AdamW, whose state we leave out of it). ξ
 * defaults to the weight learning rate of the step, as in the paper.
 *
 * α is updated with Adam and L2 weight decay added to the gradient (the paper: lr 3e-4, β = (0.5, 0.999), decay
 * 1e-3); the weights with AdamW (training/adamw.ts) and gradient clipping, through the training loop's `trainStep`.
 * α is tiny (a few logits per decision), so its Adam runs on the host.
 */
import * as tf from "@tensorflow/tfjs-core";
import { AdamW, type AdamWOptions } from "../training/adamw.js";
import { trainStep } from "../training/loop.js";

export interface BilevelOptions {
  /** 1: first-order DARTS (V1); 2: second-order with the finite-difference Hessian–vector product (V2). */
  order: 1 | 2;
  /** Learning rate of the weights at a step. */
  weightLearningRate(step: number): number;
  /** AdamW options of the weights (weight decay etc.). */
  weightOptimizer?: AdamWOptions;
  /** Global-norm clipping of the weight gradients; default 1, 0 = off. */
  clipNorm?: number;
  /** Adam learning rate of α. */
  alphaLearningRate: number;
  /** L2 weight decay on α, added to its gradient. */
  alphaWeightDecay: number;
  /** Adam (β₁, β₂) of α; default (0.5, 0.999), the paper's. */
  alphaBetas?: [number, number];
  /** ξ of the virtual step (order 2) at a step; default: the weight learning rate of the step. */
  unrolledLearningRate?(step: number): number;
}

/** The two losses of one iteration, each over a fixed batch; built inside the gradient scope. */
export interface IterationLosses {
  /** L_train(w, α) on the training batch. */
  train(): tf.Scalar;
  /** L_val(w, α) on the validation batch. */
  val(): tf.Scalar;
}

export class BilevelOptimizer {
  private readonly weightOpt: AdamW;
  private readonly alphaOpt: HostAdam;
  private readonly clipNorm: number;

  constructor(
    readonly weights: readonly tf.Variable[],
    readonly alphas: readonly tf.Variable[],
    private readonly opts: BilevelOptions,
  ) {
    this.weightOpt = new AdamW(weights, opts.weightOptimizer);
    const [b1, b2] = opts.alphaBetas ?? [0.5, 0.999];
    this.alphaOpt = new HostAdam(alphas, b1, b2, opts.alphaWeightDecay);
    this.clipNorm = opts.clipNorm ?? 1;
  }

  /** Step 2: one AdamW update of the weights on the training loss. Returns the loss and the gradient norm. */
  weightStep(trainLoss: () => tf.Scalar, step: number): { loss: number; gradNorm: number } {
    return trainStep([...this.weights], trainLoss, this.weightOpt, this.opts.weightLearningRate(step), this.clipNorm);
  }

  /**
   * Step 1: one Adam update of α. Returns the validation loss (at w for order 1, at the virtual w′ for order 2)
   * and the α gradient that was applied (before weight decay), one array per α variable.
   */
  alphaStep(losses: IterationLosses, step: number): { valLoss: number; grads: Float32Array[] } {
    const xi = this.opts.order === 2 ? (this.opts.unrolledLearningRate ?? this.opts.weightLearningRate)(step) : 0;
    const { valLoss, grads } = this.opts.order === 2 ? this.secondOrderGradient(losses, xi) : this.firstOrderGradient(losses.val);
    if (grads.every((g) => g.every(Number.isFinite))) this.alphaOpt.step(grads, this.opts.alphaLearningRate);
    return { valLoss, grads };
  }

  /** ∇α L_val(w, α) (DARTS-V1). */
  firstOrderGradient(valLoss: () => tf.Scalar): { valLoss: number; grads: Float32Array[] } {
    const { value, grads } = tf.variableGrads(valLoss, [...this.alphas]);
    try {
      return { valLoss: value.dataSync()[0]!, grads: this.alphas.map((a) => gradOf(grads, a).dataSync() as Float32Array) };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  /** ∇α L_val(w′, α) − ξ·(∇α L_train(w⁺, α) − ∇α L_train(w⁻, α)) / 2ε (DARTS-V2, eq. 7–8). Leaves w as it found it. */
  secondOrderGradient(losses: IterationLosses, xi: number): { valLoss: number; grads: Float32Array[] } {
    const ws = [...this.weights];
    const saved = ws.map((w) => tf.clone(w)); // w, restored exactly at the end
    try {
      // Virtual step w′ = w − ξ∇w L_train(w, α).
      const trainGrads = tf.variableGrads(losses.train, ws);
      tf.tidy(() => ws.forEach((w, i) => w.assign(tf.sub(saved[i]!, tf.mul(gradOf(trainGrads.grads, w), xi)))));
      trainGrads.value.dispose();
      tf.dispose(trainGrads.grads);

      // ∇α L_val(w′, α) and v = ∇w′ L_val(w′, α).
      const valGrads = tf.variableGrads(losses.val, [...this.alphas, ...ws]);
      const valLoss = valGrads.value.dataSync()[0]!;
      const dAlpha = this.alphas.map((a) => Float32Array.from(gradOf(valGrads.grads, a).dataSync()));
      const v = ws.map((w) => tf.keep(gradOf(valGrads.grads, w).clone()));
      valGrads.value.dispose();
      tf.dispose(valGrads.grads);

      try {
        const norm = tf.tidy(() => tf.sqrt(tf.addN(v.map((g) => tf.sum(tf.square(g))))).dataSync()[0]!);
        if (!(norm > 0) || !Number.isFinite(norm)) return { valLoss, grads: dAlpha }; // no curvature term to add
        const eps = 0.01 / norm;
        // ∇α L_train at w⁺ = w + εv and w⁻ = w − εv.
        const alphaGradAt = (sign: 1 | -1): Float32Array[] => {
          tf.tidy(() => ws.forEach((w, i) => w.assign(tf.add(saved[i]!, tf.mul(v[i]!, sign * eps)))));
          const { value, grads } = tf.variableGrads(losses.train, [...this.alphas]);
          const out = this.alphas.map((a) => Float32Array.from(gradOf(grads, a).dataSync()));
          value.dispose();
          tf.dispose(grads);
          return out;
        };
        const plus = alphaGradAt(1);
        const minus = alphaGradAt(-1);
        const grads = dAlpha.map((d, k) => d.map((dj, j) => dj - (xi * (plus[k]![j]! - minus[k]![j]!)) / (2 * eps)));
        return { valLoss, grads };
      } finally {
        tf.dispose(v);
      }
    } finally {
      ws.forEach((w, i) => w.assign(saved[i]!));
      tf.dispose(saved);
    }
  }

  dispose(): void {
    this.weightOpt.dispose();
  }
}

function gradOf(grads: tf.NamedTensorMap, v: tf.Variable): tf.Tensor {
  const g = grads[v.name];
  if (!g) throw new Error(`no gradient reaches ${v.name}`);
  return g;
}

/**
 * Adam (Kingma & Ba 2015) with L2 weight decay added to the gradient (PyTorch's `Adam(weight_decay=λ)`, the
 * optimiser of α in the paper), on the host.
 */
class HostAdam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly weightDecay: number,
    private readonly epsilon = 1e-8,
  ) {
    this.m = variables.map((x) => new Float32Array(x.size));
    this.v = variables.map((x) => new Float32Array(x.size));
  }

  step(grads: readonly Float32Array[], lr: number): void {
    this.t += 1;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    this.variables.forEach((p, i) => {
      const w = p.dataSync() as Float32Array; // a copy on wasm and cpu
      const m = this.m[i]!;
      const v = this.v[i]!;
      const g = grads[i]!;
      for (let j = 0; j < w.length; j++) {
        const gj = g[j]! + this.weightDecay * w[j]!;
        m[j] = this.beta1 * m[j]! + (1 - this.beta1) * gj;
        v[j] = this.beta2 * v[j]! + (1 - this.beta2) * gj * gj;
        w[j] = w[j]! - (lr * (m[j]! / bc1)) / (Math.sqrt(v[j]! / bc2) + this.epsilon);
      }
      const next = tf.tensor(Float32Array.from(w), p.shape, "float32");
      p.assign(next);
      next.dispose();
    });
  }
}
