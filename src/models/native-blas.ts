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
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ADDON = fileURLToPath(new URL("../../native/blas/build/nas_blas.node", import.meta.url));

interface Addon {
  load(library?: string): string | null;
  gemm(
    heap: ArrayBuffer, transA: boolean, transB: boolean, m: number, n: number, k: number,
    aOffset: number, bOffset: number, cOffset: number, batch: number, strideA: number, strideB: number, strideC: number,
  ): void;
}

/** A loaded native BLAS: `gemm` computes C_i = op(A_i)·op(B_i) for `batch` row-major float32 items of `heap`. */
export interface NativeBlas {
  /** e.g. "OpenBLAS 0.3.21 … SkylakeX … (libopenblas.so.0)" */
  readonly description: string;
  readonly gemm: Addon["gemm"];
}

/**
 * Loads the addon and a BLAS: `library` names one (any library exporting cblas_sgemm), else OpenBLAS is looked up
 * by its usual sonames. Returns null, with the reason, when either is missing.
 */
export function loadNativeBlas(library?: string): { blas: NativeBlas | null; reason?: string } {
  if (!existsSync(ADDON)) return { blas: null, reason: "the native addon is not built (npm run build:native)" };
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(ADDON) as Addon;
  } catch (err) {
    return { blas: null, reason: `the native addon did not load: ${(err as Error).message}` };
  }
  const description = addon.load(library);
  if (description === null) {
    return { blas: null, reason: library ? `${library} has no cblas_sgemm or did not load` : "OpenBLAS is not installed (apt-get install libopenblas0-pthread)" };
  }
  return { blas: { description, gemm: addon.gemm } };
}
