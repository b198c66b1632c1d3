/**
 * Fused native kernels for the tfjs wasm backend (native/blas/kernels.c), registered as wasm kernels beside the
 * BLAS route of matrix products (wasm-kernels.ts, native-blas.ts).
 *
 * Why: with matrix products on OpenBLAS, the rest of a Transformer step on wasm was ~half its time, spent in
 * dozens of small kernels per layer (each a pass over memory plus tfjs's dispatch and tape bookkeeping): bias
 * adds and their gradient sums, the head split/merge transposes, scale, mask, softmax and their gradients, and a
 * host-side AdamW that downloaded every gradient and uploaded every weight. Here one native call does each of:
 *   - NasLinear / NasLinearGrad: x·W + b as one sgemm onto the broadcast bias; dx, dW and db in one call;
 *   - NasAttention / NasAttentionGrad: softmax(scale·QKᵀ + bias)·V for every sequence and head, reading Q, K, V in
 *     place in their [B·T, d] layout (leading dimensions instead of transposes), the probabilities kept for the
 *     backward pass;
 *   - NasNorm / NasNormGrad: LayerNorm and RMSNorm over the last axis, with the row statistics kept for backward;
 *   - NasActivation / NasActivationGrad: GELU (tanh form) and swish, one pass each instead of six kernels forward
 *     and eight backward (the polynomial, the sigmoid and the products);
 *   - NasCrossEntropy / NasCrossEntropyGrad: a language model's per-token −log p(target) from its logits (one-hot,
 *     log-softmax and their gradients in one pass each);
 *   - the AdamW update of every parameter, and the gradients' global norm (src/models/training/adamw.ts);
 *   - NasCoupling / NasCouplingGrad: a flow's whole coupling layer, conditioner MLP included (flows/fused-coupling.ts).
 * The ops that use them (fused-ops.ts) keep their plain-tfjs form for every other route (cpu, wasm without the
 * addon, GPU backends), and tests compare the two.
 *
 * Used only when the native BLAS is in use (the kernels call its sgemm); `useFusedKernels(null)` switches back to
 * the plain ops (NATIVE_BLAS=off or NAS_NATIVE=off do so for the whole process).
 */
import * as tf from "@tensorflow/tfjs-core";
import { nativeDisabled, type FusedKernels } from "./native-blas.js";

/** The parts of the wasm backend the kernels touch (it is not exported as a type by the package's node bundle). */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: Record<string, unknown> };

/** The attributes of NasCoupling and NasCouplingGrad: the layer's form (native/blas/flows.c, `layout`). */
export interface CouplingAttrs {
  /** 0 additive, 1 affine with log s = c·tanh(raw), 2 affine with log s = log 2 − softplus(−raw) */
  kind: number;
  /** 0 relu, 1 tanh, 2 elu, 3 swish */
  activation: number;
  hidden: number;
  width: number;
  /** Column indices of the conditioning part A and of the transformed part B. */
  a: number[];
  b: number[];
}

let kernels: FusedKernels | null = null;
let registered = false;

/** Routes the fused ops to these kernels (null: the plain tfjs ops). Takes effect from the next op. */
export function useFusedKernels(k: FusedKernels | null): void {
  // NAS_NATIVE=off rules the addon out entirely, whoever hands its kernels in.
  const use = nativeDisabled() ? null : k;
  if (use) registerFusedKernels();
  kernels = use;
}

/** The fused kernels when they are in use and the wasm backend is active, else null. */
export function fusedKernels(): FusedKernels | null {
  return kernels && tf.getBackend() === "wasm" ? kernels : null;
}

/** Float offset of a tensor's data on the wasm heap. */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset / 4;
}

/** The heap after every allocation of a kernel (allocating may grow it, detaching an older ArrayBuffer). */
export function heapOf(backend: WasmBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

function active(): FusedKernels {
  if (!kernels) throw new Error("fused kernel run while the fused kernels are off");
  return kernels;
}

function register(name: string, kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]): void {
  if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

function registerFusedKernels(): void {
  if (registered) return;
  registered = true;

  // inputs x [m, k], w [k, n], b [n] (optional) → y [m, n]
  register("NasLinear", ({ inputs, backend }) => {
    const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
    const [m, k] = x.shape as [number, number];
    const n = w.shape[1]!;
    const y = backend.makeOutput([m, n], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().linearForward(heapOf(backend), off(x), off(w), b ? off(b) : -1, off(y), m, k, n);
    return y;
  });

  // inputs dy [m, n], x [m, k], w [k, n]; attrs bias → [dx, dw, db] (db only with a bias)
  register("NasLinearGrad", ({ inputs, backend, attrs }) => {
    const { dy, x, w } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; w: tf.TensorInfo };
    const [m, k] = x.shape as [number, number];
    const n = w.shape[1]!;
    const dx = backend.makeOutput([m, k], "float32");
    const dw = backend.makeOutput([k, n], "float32");
    const db = attrs.bias ? backend.makeOutput([n], "float32") : undefined;
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().linearBackward(heapOf(backend), off(dy), off(x), off(w), off(dx), off(dw), db ? off(db) : -1, m, k, n);
    return db ? [dx, dw, db] : [dx, dw];
  });

  // inputs q, k, v [B·T, d], bias [1 or H, T, T]; attrs batch, heads, scale → [y [B·T, d], p [B, H, T, T]]
  register("NasAttention", ({ inputs, backend, attrs }) => {
    const { q, k, v, bias } = inputs as Record<"q" | "k" | "v" | "bias", tf.TensorInfo>;
    const { batch, heads, scale } = attrs as { batch: number; heads: number; scale: number };
    const [rows, d] = q.shape as [number, number];
    const T = rows / batch;
    const y = backend.makeOutput([rows, d], "float32");
    const p = backend.makeOutput([batch, heads, T, T], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    const biasHeads = bias.shape.length === 3 ? bias.shape[0]! : 1;
    active().attentionForward(heapOf(backend), off(q), off(k), off(v), off(bias), biasHeads, off(y), off(p), batch, T, heads, d / heads, scale);
    return [y, p];
  });

  // inputs x [N, d], gamma [d], beta [d] (LayerNorm only); attrs rms, eps → [y [N, d], stats [N, 2]]
  register("NasNorm", ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta?: tf.TensorInfo };
    const [rows, cols] = x.shape as [number, number];
    const y = backend.makeOutput([rows, cols], "float32");
    const stats = backend.makeOutput([rows, 2], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().normForward(heapOf(backend), off(x), off(gamma), beta ? off(beta) : -1, off(y), off(stats), rows, cols, attrs.eps as number, attrs.rms ? 1 : 0);
    return [y, stats];
  });

  // inputs dy, x [N, d], gamma [d], stats [N, 2]; attrs rms → [dx, dgamma, dbeta (LayerNorm only)]
  register("NasNormGrad", ({ inputs, backend, attrs }) => {
    const { dy, x, gamma, stats } = inputs as Record<"dy" | "x" | "gamma" | "stats", tf.TensorInfo>;
    const [rows, cols] = x.shape as [number, number];
    const dx = backend.makeOutput([rows, cols], "float32");
    const dgamma = backend.makeOutput([cols], "float32");
    const dbeta = attrs.rms ? undefined : backend.makeOutput([cols], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().normBackward(heapOf(backend), off(dy), off(x), off(gamma), off(stats), off(dx), off(dgamma), dbeta ? off(dbeta) : -1, rows, cols, attrs.rms ? 1 : 0);
    return dbeta ? [dx, dgamma, dbeta] : [dx, dgamma];
  });

  // inputs x; attrs op (0 GELU, 1 swish) → y, same shape
  register("NasActivation", ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const y = backend.makeOutput(x.shape, "float32");
    active().activationForward(heapOf(backend), attrs.op as number, heapOffset(backend, x), heapOffset(backend, y), tf.util.sizeFromShape(x.shape));
    return y;
  });

  // inputs dy, x; attrs op → dx
  register("NasActivationGrad", ({ inputs, backend, attrs }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const dx = backend.makeOutput(x.shape, "float32");
    active().activationBackward(heapOf(backend), attrs.op as number, heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, dx), tf.util.sizeFromShape(x.shape));
    return dx;
  });

  // inputs logits [N, V], targets [N] int32 → [nll [N], lse [N]]
  register("NasCrossEntropy", ({ inputs, backend }) => {
    const { logits, targets } = inputs as { logits: tf.TensorInfo; targets: tf.TensorInfo };
    const [rows, cols] = logits.shape as [number, number];
    const nll = backend.makeOutput([rows], "float32");
    const lse = backend.makeOutput([rows], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().crossEntropyForward(heapOf(backend), off(logits), off(targets), off(nll), off(lse), rows, cols);
    return [nll, lse];
  });

  // inputs dnll [N], logits [N, V], targets [N], lse [N] → dlogits [N, V]
  register("NasCrossEntropyGrad", ({ inputs, backend }) => {
    const { dnll, logits, targets, lse } = inputs as Record<"dnll" | "logits" | "targets" | "lse", tf.TensorInfo>;
    const [rows, cols] = logits.shape as [number, number];
    const dlogits = backend.makeOutput([rows, cols], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().crossEntropyBackward(heapOf(backend), off(dnll), off(logits), off(targets), off(lse), off(dlogits), rows, cols);
    return dlogits;
  });

  // inputs [x [N, D], w_0, b_0, …, w_H, b_H, c (kind 1 only), saved] → [z [N, D], logdet [N]]; `saved` (couplingSavedSize
  // floats, uninitialised) is written for the backward pass. An input, not a third output: the tape would give an
  // output without a gradient a zero-filled gradient of its size in every backward pass.
  register("NasCoupling", ({ inputs, backend, attrs }) => {
    const list = inputs as unknown as tf.TensorInfo[];
    const at = attrs as unknown as CouplingAttrs;
    const x = list[0]!;
    const saved = list[list.length - 1]!;
    const [n, d] = x.shape as [number, number];
    if (saved.shape[0] !== couplingSavedSize(at, n)) throw new Error("NasCoupling: the saved buffer has the wrong size");
    const z = backend.makeOutput([n, d], "float32");
    const logdet = backend.makeOutput([n], "float32");
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    active().couplingForward(heapOf(backend), couplingLayout(at, list.slice(0, -1), n, d, off), off(x), off(z), off(logdet), off(saved));
    return [z, logdet];
  });

  // inputs [dz, dlogdet, x, saved, w_0, b_0, …, w_H, b_H, c (kind 1 only)] → [dx, dw_0, db_0, …, dw_H, db_H, dc]
  register("NasCouplingGrad", ({ inputs, backend, attrs }) => {
    const [dz, dlogdet, x, saved, ...params] = inputs as unknown as tf.TensorInfo[];
    const at = attrs as unknown as CouplingAttrs;
    const [n, d] = x!.shape as [number, number];
    const outputs = [x!, ...params].map((t) => backend.makeOutput(t.shape, "float32"));
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    const grads = Float64Array.from(outputs.slice(1).map(off));
    const table = grads.length === 2 * (at.hidden + 1) ? Float64Array.from([...grads, -1]) : grads;
    const layout = couplingLayout(at, [x!, ...params], n, d, off);
    const outs = at.kind === 0 ? at.b.length : 2 * at.b.length;
    const scratch = backend.makeOutput([2 * n * Math.max(outs, at.width, at.a.length) + 2 * at.b.length], "float32");
    try {
      active().couplingBackward(heapOf(backend), layout, off(x!), off(saved!), off(dz!), off(dlogdet!), off(outputs[0]!), table, off(scratch));
    } finally {
      backend.disposeData(scratch.dataId);
    }
    return outputs;
  });

  // inputs dy, q, k, v [B·T, d], p [B, H, T, T]; attrs batch, heads, scale → [dq, dk, dv]
  register("NasAttentionGrad", ({ inputs, backend, attrs }) => {
    const { dy, q, k, v, p } = inputs as Record<"dy" | "q" | "k" | "v" | "p", tf.TensorInfo>;
    const { batch, heads, scale } = attrs as { batch: number; heads: number; scale: number };
    const [rows, d] = q.shape as [number, number];
    const outs = [0, 1, 2].map(() => backend.makeOutput([rows, d], "float32"));
    const off = (t: tf.TensorInfo) => heapOffset(backend, t);
    const [dq, dk, dv] = outs.map(off) as [number, number, number];
    active().attentionBackward(heapOf(backend), off(dy), off(q), off(k), off(v), off(p), dq, dk, dv, batch, rows / batch, heads, d / heads, scale);
    return outs;
  });
}

/** Floats of NasCoupling's `saved` buffer: x_A, each hidden layer's pre- and post-activation, the conditioner's output. */
export function couplingSavedSize(at: CouplingAttrs, rows: number): number {
  const outs = at.kind === 0 ? at.b.length : 2 * at.b.length;
  return rows * at.a.length + 2 * at.hidden * rows * at.width + rows * outs;
}

/** flows.c's layout of a coupling layer: sizes, form, column indices, and the offsets of its weights and c. */
function couplingLayout(at: CouplingAttrs, inputs: tf.TensorInfo[], n: number, d: number, off: (t: tf.TensorInfo) => number): Float64Array {
  const weights = inputs.slice(1, 1 + 2 * (at.hidden + 1));
  const c = at.kind === 1 ? off(inputs[1 + 2 * (at.hidden + 1)]!) : -1;
  return Float64Array.from([n, d, at.a.length, at.b.length, at.kind, at.activation, at.hidden, at.width, c, ...at.a, ...at.b, ...weights.map(off)]);
}
