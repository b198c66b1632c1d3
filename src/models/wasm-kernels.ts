/**
 * Faster kernels for the tfjs wasm backend (tfjs 4.22), registered before the backend initialises.
 *
 * Stock wasm `BatchMatMul` uses XNNPACK's fully-connected operator (~9–13 GFLOP/s) only for non-transposed products
 * whose batch is 1; every transposed product (all of backprop) and every batched product (attention) falls back to
 * a scalar loop at ~0.5 GFLOP/s. This module re-registers `BatchMatMul` with a router that keeps the original kernel
 * (and its `setupFunc`) and only ever calls it on the fast case:
 *   - transposed operands are transposed explicitly first (wasm `Transpose` is a cheap memory pass);
 *   - `[batch, M, K] · [1, K, N]` (a shared right operand) is flattened to one `[batch·M, K] · [K, N]` product;
 *   - other batched products run batch item by batch item, each on the fast path (tiny items, as in chunked linear
 *     attention, by a plain loop: creating an XNNPACK operator per item costs more than their arithmetic).
 * The mathematics is unchanged; only the route to the result is. When a native BLAS is attached
 * (`useNativeBlas`, see native-blas.ts), every float32 product goes to its sgemm instead, transposes and batches
 * included, in place on the wasm heap.
 *
 * It also re-registers `Transpose` for permutations that keep the last axis in place (splitting and merging
 * attention heads, [B, T, H, hd] ↔ [B, H, T, hd]): the stock kernel takes a slow generic path for rank 4 and 5
 * (~90 ms for a 300k-element rank-5 transpose, against < 1 ms for this row-copying loop).
 *
 * `Concat` and `SplitV` on float32/int32 copy rows with plain loops over a 4-byte view of the heap: the stock kernels
 * create a subarray per row and input, ~1 ms for a [512, 2] tensor (a 2-D flow's coupling split and merge: 40 % of
 * its kernel time), against microseconds here.
 *
 * `GatherV2` (no batch dimensions, 4-byte data, int32 indices) copies runs the same way: the stock kernel took
 * ~35 µs for a [512, 2] column permutation (a flow's permutation between couplings), against ~2 µs here.
 *
 * `Identity` aliases its input (reference count + 1, as the cpu backend does) instead of copying: the engine uses
 * it to save every tensor that backprop needs; so does a `Cast` to the dtype the tensor already has (gradients
 * cast to float32 often). `Sum` over leading axes (bias gradients, [N, n] → [n]) adds rows directly (or, on
 * OpenBLAS, is the product 1ᵀ·X) instead of transposing first.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NativeBlas } from "./native-blas.js";
import { useFusedKernels, type KernelArgs } from "./native-kernels.js";

export type { KernelArgs, WasmBackend } from "./native-kernels.js";
export type Kernel = (args: KernelArgs) => tf.TensorInfo;

let installed = false;
/** The routed BatchMatMul kernel (set by registerWasmKernels), also used by the Sum kernel on OpenBLAS. */
let matMul: Kernel;
let nativeBlas: NativeBlas | null = null;

/**
 * Routes float32 matrix products to `blas` (null: back to XNNPACK), and the fused ops to its fused kernels
 * (native-kernels.ts; `useFusedKernels(null)` after this keeps products on the BLAS and the ops plain). Takes effect
 * from the next product.
 */
export function useNativeBlas(blas: NativeBlas | null): void {
  nativeBlas = blas;
  useFusedKernels(blas?.kernels ?? null);
}

/** Batched items with at most this many multiply–adds are computed by a JS loop instead of one XNNPACK call each. */
const SMALL_PRODUCT = 16_384;

/** Re-registers kernel `name` of the wasm backend, keeping its setupFunc; `make` gets the stock kernel function. */
export function replaceKernel(name: string, make: (stock: Kernel) => Kernel): void {
  const stock = tf.getKernel(name, "wasm");
  if (!stock) throw new Error(`the wasm backend must be imported before registerWasmKernels() (no ${name} kernel)`);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ kernelName: name, backendName: "wasm", setupFunc: stock.setupFunc, kernelFunc: make(stock.kernelFunc as unknown as Kernel) as unknown as tf.KernelFunc });
}

/** Output sharing the input's data (reference count + 1), as the cpu backend's Identity does. */
function alias(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x!;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Installs the kernels of this module. Call after importing the wasm backend and before `setBackend("wasm")`. */
export function registerWasmKernels(): void {
  if (installed) return;
  const transpose = tf.getKernel("Transpose", "wasm")?.kernelFunc as unknown as Kernel;
  replaceKernel("BatchMatMul", (matMulFast) => (matMul = (args) => routedBatchMatMul(args, matMulFast, transpose)));
  replaceKernel("Transpose", (stock) => (args) => rowCopyTranspose(args, stock));
  replaceKernel("Identity", (stock) => (args) => (args.inputs.x!.dtype === "string" ? stock(args) : alias(args)));
  replaceKernel("Cast", (stock) => (args) => (args.inputs.x!.dtype === args.attrs.dtype && args.attrs.dtype !== "string" ? alias(args) : stock(args)));
  replaceKernel("Sum", (stock) => (args) => leadingAxesSum(args, stock));
  replaceKernel("Concat", (stock) => (args) => rowCopyConcat(args, stock));
  replaceKernel("SplitV", (stock) => ((args: KernelArgs) => rowCopySplit(args, stock)) as unknown as Kernel);
  replaceKernel("GatherV2", (stock) => (args) => runCopyGather(args, stock));
  installed = true;
}

function routedBatchMatMul(args: KernelArgs, matMulFast: Kernel, transpose: Kernel): tf.TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const transposeA = Boolean(args.attrs.transposeA);
  const transposeB = Boolean(args.attrs.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32") return matMulFast(args);

  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const [aRows, aCols] = [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const [bRows, bCols] = [b.shape[rb - 2]!, b.shape[rb - 1]!];
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  const kB = transposeB ? bCols : bRows;
  tf.util.assert(k === kB, () => `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...outBatchShape, m, n];
  // Broadcasting other than "one side has batch 1" is left to the original kernel.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return matMulFast(args);
  if (nativeBlas) return nativeBatchMatMul(nativeBlas, args, { batchA, batchB, m, k, n, transposeA, transposeB }, outShape);

  // Operands as [batch, rows, cols] views (no copy), then made non-transposed with one explicit transpose each.
  const temps: tf.TensorInfo[] = [];
  const plain = (x: tf.TensorInfo, batch: number, rows: number, cols: number, transposed: boolean): tf.TensorInfo => {
    const view: tf.TensorInfo = { dataId: x.dataId, shape: [batch, rows, cols], dtype: x.dtype };
    if (!transposed) return view;
    const t = transpose({ inputs: { x: view }, backend, attrs: { perm: [0, 2, 1] } });
    temps.push(t);
    return t;
  };
  const a3 = plain(a, batchA, aRows, aCols, transposeA); // [batchA, m, k]
  const b3 = plain(b, batchB, bRows, bCols, transposeB); // [batchB, k, n]
  const fast = (x: tf.TensorInfo, y: tf.TensorInfo) =>
    matMulFast({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } });

  let out: tf.TensorInfo;
  if (batchB === 1) {
    // [batchA·m, k] · [k, n]: one fast product (covers plain 2-D products).
    const r = fast({ dataId: a3.dataId, shape: [1, batchA * m, k], dtype: "float32" }, b3);
    out = { dataId: r.dataId, shape: outShape, dtype: "float32" };
  } else if (m * k * n <= SMALL_PRODUCT) {
    // Batched tiny products (chunked linear attention): a plain loop beats creating an XNNPACK operator per item.
    const batch = Math.max(batchA, batchB);
    out = backend.makeOutput(outShape, "float32");
    const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
    const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
    const [a0, b0, o0] = [off(a3), off(b3), off(out)];
    heap.fill(0, o0, o0 + batch * m * n);
    for (let i = 0; i < batch; i++) {
      const ai = a0 + (batchA === 1 ? 0 : i * m * k);
      const bi = b0 + (batchB === 1 ? 0 : i * k * n);
      const oi = o0 + i * m * n;
      for (let r = 0; r < m; r++) {
        for (let p = 0; p < k; p++) {
          const x = heap[ai + r * k + p]!;
          const brow = bi + p * n;
          const orow = oi + r * n;
          for (let c = 0; c < n; c++) heap[orow + c]! += x * heap[brow + c]!;
        }
      }
    }
  } else {
    // Batched: item by item on the fast path, each item copied into a batch-1 tensor and the result copied back.
    const batch = Math.max(batchA, batchB);
    out = backend.makeOutput(outShape, "float32");
    const ai = backend.makeOutput([1, m, k], "float32");
    const bi = batchA === batchB || batchB > 1 ? backend.makeOutput([1, k, n], "float32") : b3;
    const aItem = batchA === 1 ? a3 : ai;
    for (let i = 0; i < batch; i++) {
      const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
      const off = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
      if (batchA > 1) heap.copyWithin(off(ai), off(a3) + i * m * k, off(a3) + (i + 1) * m * k);
      if (batchB > 1) heap.copyWithin(off(bi), off(b3) + i * k * n, off(b3) + (i + 1) * k * n);
      // A fresh right operand each item: XNNPACK caches a packed operator per right-operand tensor, so reusing one
      // tensor with new contents would reuse stale packed weights.
      const r = fast(aItem, bi);
      const heap2 = new Float32Array(backend.wasm.HEAPU8.buffer);
      heap2.copyWithin(off(out) + i * m * n, off(r), off(r) + m * n);
      backend.disposeData(r.dataId);
      if (batchB > 1 && i + 1 < batch) {
        backend.disposeData(bi.dataId);
        Object.assign(bi, backend.makeOutput([1, k, n], "float32"));
      }
    }
    backend.disposeData(ai.dataId);
    if (bi !== b3) backend.disposeData(bi.dataId);
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

/** The product on the native BLAS: operands read in place (transposes by flag), a shared operand by stride 0. */
function nativeBatchMatMul(
  blas: NativeBlas,
  { inputs, backend }: KernelArgs,
  p: { batchA: number; batchB: number; m: number; k: number; n: number; transposeA: boolean; transposeB: boolean },
  outShape: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, "float32");
  // Offsets are taken after makeOutput: allocating may grow the heap (and detach an older ArrayBuffer).
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
  const [a, b, c] = [offset(inputs.a!), offset(inputs.b!), offset(out)];
  const { batchA, batchB, m, k, n, transposeA, transposeB } = p;
  if (batchB === 1 && !transposeA) {
    // [batchA·m, k] · [k, n]: one product, the best shape for the BLAS.
    blas.gemm(heap, false, transposeB, batchA * m, n, k, a, b, c, 1, 0, 0, 0);
  } else {
    const batch = Math.max(batchA, batchB);
    blas.gemm(heap, transposeA, transposeB, m, n, k, a, b, c, batch, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, m * n);
  }
  return out;
}

/**
 * Transpose of a rank ≥ 3 tensor whose last axis stays last: the output is rows of the input's last axis in a new
 * order, copied with a loop over a 4-byte view of the wasm heap. Other cases go to the stock kernel.
 */
function rowCopyTranspose(args: KernelArgs, stock: Kernel): tf.TensorInfo {
  const { backend } = args;
  const x = args.inputs.x!;
  const perm = args.attrs.perm as number[];
  const r = x.shape.length;
  if (r < 3 || perm[r - 1] !== r - 1 || (x.dtype !== "float32" && x.dtype !== "int32")) return stock(args);
  const outShape = perm.map((p) => x.shape[p]!);
  const inner = x.shape[r - 1]!;
  const inStrides = new Array<number>(r).fill(1);
  for (let i = r - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * x.shape[i + 1]!;
  const srcStride = perm.map((p) => inStrides[p]!); // input offset step for each output axis
  const out = backend.makeOutput(outShape, x.dtype);
  const size = tf.util.sizeFromShape(outShape);
  if (size === 0) return out;
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  const src0 = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  let dst = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  const outer = outShape.slice(0, r - 1);
  const counter = new Array<number>(r - 1).fill(0);
  let src = src0;
  const rows = size / inner;
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k < inner; k++) heap[dst + k] = heap[src + k]!;
    dst += inner;
    // odometer over the output's outer axes, tracking the input offset
    for (let axis = r - 2; axis >= 0; axis--) {
      counter[axis]! += 1;
      src += srcStride[axis]!;
      if (counter[axis]! < outer[axis]!) break;
      src -= srcStride[axis]! * outer[axis]!;
      counter[axis] = 0;
    }
  }
  return out;
}

/**
 * Sum of a float32 tensor over its leading axes ([N, n] → [n], axis 0): on OpenBLAS the product 1ᵀ[1, N] · X[N, n],
 * else rows added in order by a JS loop (XNNPACK would repack X as a right operand on every call, which costs more).
 * Other reductions go to the stock kernel.
 */
function leadingAxesSum(args: KernelArgs, stock: Kernel): tf.TensorInfo {
  const { backend } = args;
  const x = args.inputs.x!;
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const k = axes.length;
  if (x.dtype !== "float32" || k === 0 || k >= r || axes.some((a, i) => a !== i)) return stock(args);
  const keptShape = x.shape.slice(k);
  const n = tf.util.sizeFromShape(keptShape);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const outShape = args.attrs.keepDims ? [...new Array<number>(k).fill(1), ...keptShape] : keptShape;
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  if (nativeBlas) {
    const ones = backend.makeOutput([1, rows], "float32");
    new Float32Array(backend.wasm.HEAPU8.buffer).fill(1, offset(ones), offset(ones) + rows);
    const sum = matMul({ inputs: { a: ones, b: { dataId: x.dataId, shape: [rows, n], dtype: "float32" } }, backend, attrs: { transposeA: false, transposeB: false } });
    backend.disposeData(ones.dataId);
    return { dataId: sum.dataId, shape: outShape, dtype: "float32" };
  }
  const out = backend.makeOutput(outShape, "float32");
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const src = offset(x);
  const acc = new Float32Array(n);
  for (let i = 0; i < rows; i++) {
    const base = src + i * n;
    for (let j = 0; j < n; j++) acc[j]! += heap[base + j]!;
  }
  heap.set(acc, offset(out));
  return out;
}

/** Copies `count` 4-byte elements inside the heap view: a loop for short runs, copyWithin (memmove) for long ones. */
function copyRun(heap: Int32Array, dst: number, src: number, count: number): void {
  if (count >= 32) heap.copyWithin(dst, src, src + count);
  else for (let k = 0; k < count; k++) heap[dst + k] = heap[src + k]!;
}

const FOUR_BYTE = new Set<tf.DataType>(["float32", "int32"]);

/** Concat of float32/int32 tensors along any axis, by rows of each input (see the header); others: the stock kernel. */
function rowCopyConcat(args: KernelArgs, stock: Kernel): tf.TensorInfo {
  const { backend } = args;
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  if (inputs.length < 2 || !inputs.every((t) => FOUR_BYTE.has(t.dtype) && t.dtype === inputs[0]!.dtype)) return stock(args);
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, inputs[0]!.shape)[0]!;
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const outShape = tf.backend_util.computeOutShape(shapes, axis);
  const parts = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (parts.length < 2) return stock(args);
  const out = backend.makeOutput(outShape, inputs[0]!.dtype);
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  const outer = tf.util.sizeFromShape(parts[0]!.shape.slice(0, axis));
  const inner = parts.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
  const row = inner.reduce((a, b) => a + b, 0);
  const srcs = parts.map((t) => backend.dataIdMap.get(t.dataId).memoryOffset / 4);
  const dst0 = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  for (let b = 0; b < outer; b++) {
    let dst = dst0 + b * row;
    for (let i = 0; i < parts.length; i++) {
      copyRun(heap, dst, srcs[i]! + b * inner[i]!, inner[i]!);
      dst += inner[i]!;
    }
  }
  return out;
}

/** SplitV of a float32/int32 tensor along any axis, by rows (see the header); others: the stock kernel. */
function rowCopySplit(args: KernelArgs, stock: Kernel): tf.TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.x!;
  if (!FOUR_BYTE.has(x.dtype)) return stock(args) as unknown as tf.TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs.numOrSizeSplits as number | number[], axis);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const row = x.shape[axis]! * inner;
  let start = 0;
  return sizes.map((size) => {
    const shape = [...x.shape];
    shape[axis] = size;
    const out = backend.makeOutput(shape, x.dtype);
    // Offsets after makeOutput: allocating may grow the heap (and detach an older view).
    const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
    const src0 = backend.dataIdMap.get(x.dataId).memoryOffset / 4 + start * inner;
    const dst0 = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
    const count = size * inner;
    for (let b = 0; b < outer; b++) copyRun(heap, dst0 + b * count, src0 + b * row, count);
    start += size;
    return out;
  });
}

/** tf.gather along `axis` by copying runs of the axes after it; anything but the plain case goes to the stock kernel. */
function runCopyGather(args: KernelArgs, stock: Kernel): tf.TensorInfo {
  const { backend } = args;
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if (!FOUR_BYTE.has(x.dtype) || indices.dtype !== "int32" || indices.shape.length !== 1 || (args.attrs.batchDims as number | undefined)) return stock(args);
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]!;
  const n = indices.shape[0]!;
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const extent = x.shape[axis]!;
  const idx = new Int32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(indices.dataId).memoryOffset, n).slice();
  for (let j = 0; j < n; j++) if (!(idx[j]! >= 0 && idx[j]! < extent)) return stock(args);
  const shape = [...x.shape];
  shape[axis] = n;
  const out = backend.makeOutput(shape, x.dtype);
  // Offsets after makeOutput: allocating may grow the heap (and detach an older view).
  const heap = new Int32Array(backend.wasm.HEAPU8.buffer);
  const src0 = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  const dst0 = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  for (let b = 0; b < outer; b++) {
    for (let j = 0; j < n; j++) {
      const src = src0 + (b * extent + idx[j]!) * inner;
      const dst = dst0 + (b * n + j) * inner;
      if (inner === 1) heap[dst] = heap[src]!;
      else copyRun(heap, dst, src, inner);
    }
  }
  return out;
}
