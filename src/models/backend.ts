/**
 * Chooses the tfjs backend at start: the fastest that loads, in the order tfjs-node-gpu, tfjs-node, wasm, cpu,
 * or the one forced by TFJS_BACKEND. tfjs-node(-gpu) are optional (their install downloads libtensorflow, which
 * cannot happen everywhere), so they are imported dynamically and skipped when absent. On wasm, faster matMul
 * routing is registered first (wasm-kernels.ts). The wasm heap never shrinks (cap ~4 GiB): recycle trainer processes.
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerAllGradients } from "./tfjs-gradients.js";
import { registerWasmKernels } from "./wasm-kernels.js";

export const BACKEND_PREFERENCE = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_PREFERENCE)[number];
/** Backends that run on a GPU: trainers on them take the GPU queue's jobs too. */
export const GPU_BACKENDS: readonly BackendName[] = ["tensorflow-gpu"];

let chosen: Promise<BackendName> | undefined;

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
export function initBackend(force: BackendName | undefined = process.env.TFJS_BACKEND as BackendName | undefined): Promise<BackendName> {
  chosen ??= (async () => {
    const order = force ? [force] : BACKEND_PREFERENCE; // an empty TFJS_BACKEND counts as unset
    for (const name of order) {
      if (await tryBackend(name)) {
        await tf.ready();
        // tfjs-node brings gradient functions; the Node bundle of tfjs-core does not (see tfjs-gradients.ts).
        await registerAllGradients();
        console.error(`tfjs backend: ${name}`);
        return name;
      }
    }
    throw new Error(force ? `tfjs backend '${force}' could not be loaded` : "no tfjs backend could be loaded");
  })();
  return chosen;
}
