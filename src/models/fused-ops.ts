/**
 * Fused tfjs ops over the native kernels of native-kernels.ts, each with its hand-written gradient (tf.customGrad:
 * one tape node, one kernel forward and one backward). Call them only while `fusedKernels()` is non-null; the
 * callers (transformer/nn.ts, transformer/attention.ts) keep the plain-tfjs form of the same quantity for every
 * other route, and tests/unit/native-kernels.test.ts checks that both agree, values and gradients.
 */
import * as tf from "@tensorflow/tfjs-core";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

const linearWithBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.engine().runKernel("NasLinear", { x, w, b }, {}) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => tf.engine().runKernel("NasLinearGrad", { dy, x: xs!, w: ws! }, { bias: true }) as tf.Tensor[],
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** x [N, in] · w [in, out] + b [out] → [N, out] in one native call (and one for dx, dw, db). */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return linearWithBias(x, w, b);
}

/**
 * Multi-head softmax attention on activations in their [B·T, d] layout, heads side by side along d:
 *   y_bh = softmax(scale · q_bh k_bhᵀ + bias_h) v_bh   for every sequence b and head h   (bias [T, T] or [H, T, T])
 * The same quantity as splitting heads with transposes, two batched products and a softmax. `bias` is a constant
 * (mask, ALiBi): it gets no gradient.
 */
export function fusedAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, bias: tf.Tensor, opts: { batch: number; heads: number; scale: number }): tf.Tensor2D {
  const attrs = { batch: opts.batch, heads: opts.heads, scale: opts.scale };
  const op = tf.customGrad(((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, p] = tf.engine().runKernel("NasAttention", { q: qi, k: ki, v: vi, bias }, attrs) as tf.Tensor[];
    save([qi, ki, vi, p!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, [qs, ks, vs, ps]: tf.Tensor[]) => tf.engine().runKernel("NasAttentionGrad", { dy, q: qs!, k: ks!, v: vs!, p: ps! }, attrs) as tf.Tensor[],
    };
  }) as unknown as CustomGradient) as (q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D) => tf.Tensor2D;
  return op(q, k, v);
}

const ACTIVATION_OPS = { gelu: 0, swish: 1 } as const;

const activationOps = Object.fromEntries(
  Object.entries(ACTIVATION_OPS).map(([name, op]) => [
    name,
    tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: tf.engine().runKernel("NasActivation", { x }, { op }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.engine().runKernel("NasActivationGrad", { dy, x: xs! }, { op }) as tf.Tensor,
      };
    }) as unknown as CustomGradient) as (x: tf.Tensor2D) => tf.Tensor2D,
  ]),
) as Record<keyof typeof ACTIVATION_OPS, (x: tf.Tensor2D) => tf.Tensor2D>;

/** GELU (tanh form, x·σ(c·(x + 0.044715x³))) or swish (x·σ(x)) in one native pass forward and one backward. */
export function fusedActivation(kind: keyof typeof ACTIVATION_OPS, x: tf.Tensor2D): tf.Tensor2D {
  return activationOps[kind](x);
}

/**
 * −log softmax(logits)[target] per row, logits [N, V] and int32 targets [N] → [N], in one native pass (and one for
 * the gradient, dnll·(softmax − onehot)). The targets get no gradient.
 */
export function fusedTokenNll(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [nll, lse] = tf.engine().runKernel("NasCrossEntropy", { logits: x, targets }, {}) as tf.Tensor[];
    save([x, lse!, targets]); // the targets too: the caller's scope may dispose them before the backward pass
    return {
      value: nll!,
      gradFunc: (dy: tf.Tensor, [xs, ls, ts]: tf.Tensor[]) => tf.engine().runKernel("NasCrossEntropyGrad", { dnll: dy, logits: xs!, targets: ts!, lse: ls! }, {}) as tf.Tensor,
    };
  }) as unknown as CustomGradient) as (x: tf.Tensor2D) => tf.Tensor1D;
  return op(logits);
}

/** The ε of the Transformer's norms (transformer/model.ts). */
const NORM_EPS = 1e-5;

const layerNormOp = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, stats] = tf.engine().runKernel("NasNorm", { x, gamma, beta }, { rms: false, eps: NORM_EPS }) as tf.Tensor[];
  save([x, gamma, stats!]);
  return {
    value: y!,
    gradFunc: (dy: tf.Tensor, [xs, gs, ss]: tf.Tensor[]) => tf.engine().runKernel("NasNormGrad", { dy, x: xs!, gamma: gs!, stats: ss! }, { rms: false }) as tf.Tensor[],
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor2D;

const rmsNormOp = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, stats] = tf.engine().runKernel("NasNorm", { x, gamma }, { rms: true, eps: NORM_EPS }) as tf.Tensor[];
  save([x, gamma, stats!]);
  return {
    value: y!,
    gradFunc: (dy: tf.Tensor, [xs, gs, ss]: tf.Tensor[]) => tf.engine().runKernel("NasNormGrad", { dy, x: xs!, gamma: gs!, stats: ss! }, { rms: true }) as tf.Tensor[],
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D, gamma: tf.Tensor) => tf.Tensor2D;


/** LayerNorm over the last axis of x [N, d]: (x − μ)/√(σ² + ε)·γ + β in one native call (and one for dx, dγ, dβ). */
export function fusedLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  return layerNormOp(x, gamma, beta);
}

/** RMSNorm over the last axis of x [N, d]: x/√(mean x² + ε)·γ in one native call (and one for dx, dγ). */
export function fusedRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor): tf.Tensor2D {
  return rmsNormOp(x, gamma);
}
