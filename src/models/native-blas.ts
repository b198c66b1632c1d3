/**
 * Optional native matrix products for the tfjs wasm backend: OpenBLAS's sgemm run directly on the wasm heap.
 *
 * Why: on wasm, matrix products are ~80 % of a Transformer training step, and XNNPACK on 128-bit wasm SIMD (no
 * fused multiply–add) peaks near 26 GFLOP/s on one core here, while OpenBLAS reaches 3–4× that with AVX-512.
 * tfjs-node would bring native kernels, but its install downloads libtensorflow, which cannot happen here. This
 * addon (native/blas/sgemm.c) is built from source at install time with a C compiler and Node's headers only, and
 * opens OpenBLAS with dlopen at run time (Debian: `apt-get install libopenblas0-pthread`). Where the addon did not
 * build or no OpenBLAS is installed, `loadNativeBlas` returns null and the wasm kernels keep XNNPACK.
 *
 * The products read and write the same float32 tensors in the wasm heap as the stock kernel, so the rest of the
 * backend is unchanged; the mathematics is the same sgemm (summation order may differ in the last bits).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ADDON = fileURLToPath(new URL("../../native/blas/build/nas_blas.node", import.meta.url));

interface Addon extends Partial<FusedKernels> {
  load(library?: string): string | null;
  gemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, m: number, n: number, k: number,
    aOffset: number, bOffset: number, cOffset: number, batch: number, strideA: number, strideB: number, strideC: number,
  ): void;
}

/**
 * The fused training kernels of native/blas/kernels.c (documented there), on the same wasm heap and BLAS. Offsets
 * and sizes count floats; `table` is the optimizer's Float64Array of (param, grad, out, size, decay) per parameter.
 */
export interface FusedKernels {
  linearForward(heap: ArrayBuffer, x: number, w: number, b: number, y: number, m: number, k: number, n: number): void;
  linearBackward(heap: ArrayBuffer, dy: number, x: number, w: number, dx: number, dw: number, db: number, m: number, k: number, n: number): void;
  attentionForward(
    heap: ArrayBuffer, q: number, k: number, v: number, bias: number, biasHeads: number, y: number, p: number,
    batch: number, T: number, heads: number, hd: number, scale: number,
  ): void;
  attentionBackward(
    heap: ArrayBuffer, dy: number, q: number, k: number, v: number, p: number, dq: number, dk: number, dv: number,
    batch: number, T: number, heads: number, hd: number, scale: number,
  ): void;
  sumSquares(heap: ArrayBuffer, table: Float64Array): number;
  adamw(heap: ArrayBuffer, table: Float64Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, bc1: number, bc2: number, gradScale: number): void;
  binary(heap: ArrayBuffer, op: number, a: number, aOuter: number, aInner: number, b: number, bOuter: number, bInner: number, out: number, rows: number, cols: number): void;
  unary(heap: ArrayBuffer, op: number, x: number, out: number, size: number): void;
  rowReduce(heap: ArrayBuffer, op: number, x: number, out: number, rows: number, cols: number): void;
  softmaxRows(heap: ArrayBuffer, x: number, out: number, rows: number, cols: number): void;
  normForward(heap: ArrayBuffer, x: number, gamma: number, beta: number, y: number, stats: number, rows: number, cols: number, eps: number, rms: number): void;
  normBackward(heap: ArrayBuffer, dy: number, x: number, gamma: number, stats: number, dx: number, dgamma: number, dbeta: number, rows: number, cols: number, rms: number): void;
  /** op 0 GELU (tanh form), 1 swish: y = act(x), and dx = dy·act'(x). */
  activationForward(heap: ArrayBuffer, op: number, x: number, y: number, size: number): void;
  activationBackward(heap: ArrayBuffer, op: number, dy: number, x: number, dx: number, size: number): void;
  /** Per row: lse = log Σ e^logits, nll = lse − logits[target]; and dlogits = dnll·(softmax − onehot). */
  crossEntropyForward(heap: ArrayBuffer, logits: number, targets: number, nll: number, lse: number, rows: number, cols: number): void;
  crossEntropyBackward(heap: ArrayBuffer, dnll: number, logits: number, targets: number, lse: number, dlogits: number, rows: number, cols: number): void;
  /** A flow's whole coupling layer (native/blas/flows.c documents `layout`, `saved` and `grads`). */
  couplingForward(heap: ArrayBuffer, layout: Float64Array, x: number, z: number, logdet: number, saved: number): void;
  couplingBackward(heap: ArrayBuffer, layout: Float64Array, x: number, saved: number, dz: number, dlogdet: number, dx: number, grads: Float64Array, scratch: number): void;
}

const FUSED_KERNELS: ReadonlyArray<keyof FusedKernels> = [
  "linearForward", "linearBackward", "attentionForward", "attentionBackward", "sumSquares", "adamw", "binary", "unary", "rowReduce", "softmaxRows", "normForward", "normBackward",
  "activationForward", "activationBackward", "crossEntropyForward", "crossEntropyBackward", "couplingForward", "couplingBackward",
];

/** A loaded native BLAS: `gemm` computes C_i = op(A_i)·op(B_i) for `batch` row-major float32 items of `heap`. */
export interface NativeBlas {
  /** e.g. "OpenBLAS 0.3.21 … SkylakeX … (libopenblas.so.0)" */
  readonly description: string;
  readonly gemm: Addon["gemm"];
  /** The fused kernels, or null when the addon was built without them (an older build: rebuild with build:native). */
  readonly kernels: FusedKernels | null;
}

/**
 * OpenBLAS picks its kernels from the CPU model number; on a CPU model that its build does not know (virtual
 * machines that report a plain "Intel Xeon Processor", say) it falls back to Prescott's SSE3 kernels, although the
 * CPU has AVX-512 or AVX2. Measured here on such a machine: a 12-step width-256 flow trained 1.5× faster per step
 * with SkylakeX's kernels (40 s against 59–62 s for 100 steps). So unless OPENBLAS_CORETYPE is already set, it is
 * set from the CPU's feature flags before OpenBLAS loads (it is read once, at load): SkylakeX with AVX-512
 * F/BW/DQ/VL, Haswell with AVX2 and FMA, otherwise OpenBLAS's own choice. Same sgemm, vectorised by the features
 * the CPU has.
 */
export function openblasCoreFromFlags(flags: ReadonlySet<string>): string | undefined {
  if (["avx512f", "avx512bw", "avx512dq", "avx512vl"].every((f) => flags.has(f))) return "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return undefined;
}

/** The CPU's feature flags as Linux lists them (empty elsewhere). */
export function cpuFlags(): Set<string> {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
    return new Set(line.trim().split(/\s+/));
  } catch {
    return new Set(); // not Linux: leave the choice to OpenBLAS
  }
}

/**
 * NAS_NATIVE=off (src/config.ts): the addon is never loaded, in any thread of the process, as on a machine where it
 * could not be built (what tests of the plain wasm route, and users ruling the addon out, set).
 */
export function nativeDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NAS_NATIVE === "off";
}

/**
 * Loads the addon and a BLAS: `library` names one (any library exporting cblas_sgemm), else OpenBLAS is looked up
 * by its usual sonames. Returns null, with the reason, when either is missing.
 */
export function loadNativeBlas(library?: string): { blas: NativeBlas | null; reason?: string } {
  if (nativeDisabled()) return { blas: null, reason: "NAS_NATIVE=off" };
  if (!existsSync(ADDON)) return { blas: null, reason: "the native addon is not built (npm run build:native)" };
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(ADDON) as Addon;
  } catch (err) {
    return { blas: null, reason: `the native addon did not load: ${(err as Error).message}` };
  }
  if (process.arch === "x64" && !process.env.OPENBLAS_CORETYPE) {
    const core = openblasCoreFromFlags(cpuFlags());
    if (core) process.env.OPENBLAS_CORETYPE = core;
  }
  const description = addon.load(library);
  if (description === null) {
    return { blas: null, reason: library ? `${library} has no cblas_sgemm or did not load` : "OpenBLAS is not installed (apt-get install libopenblas0-pthread)" };
  }
  const kernels = FUSED_KERNELS.every((name) => typeof addon[name] === "function") ? (addon as FusedKernels) : null;
  return { blas: { description, gemm: addon.gemm, kernels } };
}
