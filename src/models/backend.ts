/**
 * Chooses the tfjs backend at start: the fastest that loads, in the order tfjs-node-gpu, tfjs-node, wasm, cpu,
 * or the one forced by TFJS_BACKEND. tfjs-node(-gpu) are optional (their install downloads libtensorflow, which
 * cannot happen everywhere), so they are imported dynamically and skipped when absent. On wasm, faster matMul
 * routing is registered first (wasm-kernels.ts), and matrix products go to OpenBLAS when the optional native addon
 * and the library are present (native-blas.ts; NATIVE_BLAS=off keeps XNNPACK). The wasm heap never shrinks (cap
 * ~4 GiB): recycle trainer processes.
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadConfig } from "../config.js";
import { registerAllGradients } from "./tfjs-gradients.js";
import { loadNativeBlas } from "./native-blas.js";
import { registerWasmKernels, useNativeBlas } from "./wasm-kernels.js";

export const BACKEND_PREFERENCE = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_PREFERENCE)[number];
/** Backends that run on a GPU: trainers on them take the GPU queue's jobs too. */
export const GPU_BACKENDS: readonly BackendName[] = ["tensorflow-gpu"];

let chosen: Promise<BackendName> | undefined;
let current: BackendName | undefined;
let label: string | undefined;

/** Options of `initBackend`; each defaults to its setting (src/config.ts). */
export interface BackendOptions {
  /** TFJS_BACKEND: one backend to load, or undefined for the fastest that loads. */
  force?: BackendName;
  /** NATIVE_BLAS: "auto" sends wasm matrix products to OpenBLAS when available; "off" keeps XNNPACK. */
  nativeBlas?: "auto" | "off";
  /** NATIVE_BLAS_LIBRARY: a BLAS shared library to use instead of looking up OpenBLAS. */
  nativeBlasLibrary?: string;
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case "tensorflow-gpu":
        // tfjs-node-gpu registers itself as "tensorflow" when a GPU build is present.
        await import(/* optional */ "@tensorflow/tfjs-node-gpu" as string);
        return await tf.setBackend("tensorflow");
      case "tensorflow":
        await import(/* optional */ "@tensorflow/tfjs-node" as string);
        return await tf.setBackend("tensorflow");
      case "wasm":
        await import("@tensorflow/tfjs-backend-wasm");
        // Route slow matMul cases to XNNPACK before the backend initialises (see wasm-kernels.ts).
        registerWasmKernels();
        return await tf.setBackend("wasm");
      case "cpu":
        await import("@tensorflow/tfjs-backend-cpu");
        return await tf.setBackend("cpu");
    }
  } catch {
    return false;
  }
}

/**
 * Initialises tfjs once per process and returns the backend in use. `force` (or TFJS_BACKEND) names one backend;
 * it is an error if that one cannot load.
 */
export function initBackend(options: BackendOptions = {}): Promise<BackendName> {
  chosen ??= (async () => {
    const settings = loadConfig();
    const force = options.force ?? settings.TFJS_BACKEND;
    const order = force ? [force] : BACKEND_PREFERENCE;
    for (const name of order) {
      if (await tryBackend(name)) {
        await tf.ready();
        // tfjs-node brings gradient functions; the Node bundle of tfjs-core does not (see tfjs-gradients.ts).
        await registerAllGradients();
        current = name;
        label = name;
        let matmul = "";
        if (name === "wasm" && (options.nativeBlas ?? settings.NATIVE_BLAS) === "auto") {
          const library = options.nativeBlasLibrary ?? settings.NATIVE_BLAS_LIBRARY;
          const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
          // N-API (Node 20) reads no SharedArrayBuffer: a multi-threaded wasm build keeps XNNPACK.
          const { blas, reason } = heap instanceof SharedArrayBuffer ? { blas: null, reason: "the wasm heap is shared (multi-threaded wasm)" } : loadNativeBlas(library);
          // A library named explicitly must load: silently training 3× slower is worse than stopping at start.
          if (library && !blas) throw new Error(`NATIVE_BLAS_LIBRARY=${library} cannot be used: ${reason}`);
          useNativeBlas(blas);
          if (blas) label = "wasm+openblas";
          matmul = blas ? `, matrix products on ${blas.description}` : ` (matrix products on XNNPACK: ${reason})`;
        }
        console.error(`tfjs backend: ${name}${matmul}`);
        return name;
      }
    }
    throw new Error(force ? `tfjs backend '${force}' could not be loaded` : "no tfjs backend could be loaded");
  })();
  return chosen;
}

/**
 * The backend as trials report it (metric `backend`): its name, with "+openblas" when wasm's matrix products run
 * on the native BLAS. Call after `initBackend`.
 */
export function backendLabel(): string {
  if (!label) throw new Error("backendLabel() before initBackend()");
  return label;
}

/** The backend `initBackend` chose in this thread, or undefined before it finished. */
export function currentBackend(): BackendName | undefined {
  return current;
}
