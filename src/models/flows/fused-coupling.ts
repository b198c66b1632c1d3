/**
 * A coupling layer (coupling.ts) as one native kernel forward and one backward (native/blas/flows.c), on the
 * route with the fused native kernels (native-kernels.ts).
 *
 * Why: a 2-D flow's batch is small (512 × 2), so its training step is per-kernel overhead rather than arithmetic.
 * The reference RealNVP of bench:flows (8 affine couplings, conditioner 1 → 64 → 64 → 2) ran ~860 tfjs kernels
 * per step — split, three dense layers, tanh bound, exp, scale and shift, merge, log-determinant, and each one's
 * gradient — at 0.60× PyTorch's step time. Here the split, the conditioner MLP, the transformation of x_B and the
 * log-determinant are one call, and their gradients (x, every weight, the bound's scale c) another.
 *
 * It computes what the plain layer computes, in float32 (tests/unit/fused-coupling.test.ts compares values and
 * gradients). Layers it does not cover keep the plain form: a conditioner that is not a plain MLP of dense layers
 * and one activation (a DARTS supernet's mixed activations, MADE's masked layers), and every route without the
 * fused kernels (cpu, wasm without the addon, GPU backends).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ScaleBound } from "./config.js";
import { ActivationOp, Dense, Sequential, type Op } from "./conditioner.js";
import { couplingSavedSize, fusedKernels, type CouplingAttrs } from "../native-kernels.js";

const ACTIVATION_CODES: Record<string, number> = { relu: 0, tanh: 1, elu: 2, swish: 3 };

// The gradient of NasCoupling: every input saved, x, the weights, c and the `saved` buffer the forward kernel
// wrote (x_A, the hidden layers' pre- and post-activations, the conditioner's output). The buffer gets no gradient:
// it derives from no variable, so the tape never asks for one.
tf.registerGradient({
  kernelName: "NasCoupling",
  saveAllInputs: true,
  gradFunc: (dys, saved, attrs) => {
    const [dz, dlogdet] = dys as tf.Tensor[];
    const [x, ...rest] = saved;
    const kept = rest.pop()!;
    const grads = tf.engine().runKernel("NasCouplingGrad", [dz!, dlogdet!, x!, kept, ...rest] as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return Object.fromEntries(grads.map((g, i) => [String(i), () => g]));
  },
});

/** An uninitialised float32 tensor (the kernel fills it): no Fill pass over memory that is written anyway. */
function scratchTensor(size: number): tf.Tensor1D {
  const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo };
  return tf.engine().makeTensorFromTensorInfo(backend.makeOutput([size], "float32")) as tf.Tensor1D;
}

/** The conditioner's dense layers and its one activation, when it is a plain MLP the kernel covers; else null. */
function plainMlp(net: Op): { dense: Dense[]; activation: number } | null {
  if (!(net instanceof Sequential)) return null;
  const dense: Dense[] = [];
  let activation: string | undefined;
  for (const op of net.ops) {
    if (op instanceof Dense) {
      if (op.masked) return null;
      if (op.relu) activation ??= "relu";
      dense.push(op);
    } else if (op instanceof ActivationOp) {
      activation ??= op.kind;
      if (op.kind !== activation) return null;
    } else return null;
  }
  const hidden = dense.length - 1;
  // [Dense(relu)] × H + Dense, or [Dense, Activation] × H + Dense: one activation after every hidden layer.
  const ok =
    hidden >= 0 &&
    !dense[hidden]!.relu &&
    (activation === "relu" ? net.ops.length === dense.length && dense.slice(0, hidden).every((d) => d.relu) : net.ops.length === 2 * hidden + 1 && dense.every((d) => !d.relu));
  return ok ? { dense, activation: ACTIVATION_CODES[activation ?? "relu"]! } : null;
}

/**
 * z, log|det J| of a coupling layer's forward direction in one kernel, or null where the fused kernels are off
 * or the layer is not one they cover (the caller then runs the plain ops). `a`, `b`: the mask's column indices
 * of the conditioning and the transformed part; `scaleBound`: absent for an additive coupling; `scale`: the tanh
 * bound's c.
 */
export function fusedCouplingForward(
  x: tf.Tensor2D,
  layer: { a: readonly number[]; b: readonly number[]; conditioner: Op; scaleBound?: ScaleBound; scale?: tf.Variable },
): { output: tf.Tensor2D; logDet: tf.Tensor1D } | null {
  if (!fusedKernels() || x.dtype !== "float32") return null;
  const mlp = plainMlp(layer.conditioner);
  if (!mlp) return null;
  const kind = layer.scaleBound === undefined ? 0 : layer.scaleBound === "tanh" ? 1 : 2;
  const hidden = mlp.dense.length - 1;
  const attrs: CouplingAttrs = { kind, activation: mlp.activation, hidden, width: hidden > 0 ? mlp.dense[0]!.weight.shape[1]! : 0, a: [...layer.a], b: [...layer.b] };
  const kept = scratchTensor(couplingSavedSize(attrs, x.shape[0]));
  const inputs = [x, ...mlp.dense.flatMap((d) => [d.weight, d.bias]), ...(kind === 1 ? [layer.scale!] : []), kept];
  const [output, logDet] = tf.engine().runKernel("NasCoupling", inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  kept.dispose(); // the tape keeps its own reference for the backward pass
  return { output: output as tf.Tensor2D, logDet: logDet as tf.Tensor1D };
}
