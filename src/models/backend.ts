/**
 * Chooses the tfjs backend at start: the first that loads in the order
 *   tfjs-node-gpu → tfjs-node → webgpu → wasm+native → wasm → cpu
 * or the one forced by TFJS_BACKEND. Each step that is skipped is logged with its reason ("tfjs backend: skipped
 * webgpu: no GPU adapter found"), then the chosen backend and its device.
 *   - tensorflow-gpu / tensorflow: @tensorflow/tfjs-node(-gpu), optional dependencies (their install downloads
 *     libtensorflow, which cannot happen everywhere), imported dynamically and skipped when absent;
 *   - webgpu: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` package), only when Dawn finds a GPU adapter (a
 *     machine without a GPU or Vulkan driver has none, and Dawn's software fallback is no faster than wasm);
 *   - wasm+native: the wasm backend with matrix products on OpenBLAS and the fused training kernels (the optional
 *     native addon, native-blas.ts and native-kernels.ts; NATIVE_BLAS=off or NAS_NATIVE=off rule it out);
 *   - wasm: the same backend with its own XNNPACK kernels (faster routing registered first, wasm-kernels.ts);
 *   - cpu: the pure-JS backend.
 * The wasm heap never shrinks (cap ~4 GiB): recycle trainer processes.
 *
 * The order walk itself (`selectBackend`) takes its loaders as arguments, so that tests check it with GPU
 * candidates that are unavailable on purpose.
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { isMainThread } from "node:worker_threads";
import { loadConfig } from "../config.js";
import { registerAllGradients } from "./tfjs-gradients.js";
import { loadNativeBlas } from "./native-blas.js";
import { registerWasmKernels, useNativeBlas } from "./wasm-kernels.js";

/** tfjs backend names, fastest first. */
export const BACKEND_PREFERENCE = ["tensorflow-gpu", "tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_PREFERENCE)[number];
/** The selection's steps (wasm is tried with the native addon first): what the log lines name. */
export const SELECTION_ORDER = ["tensorflow-gpu", "tensorflow", "webgpu", "wasm+native", "wasm", "cpu"] as const;
export type SelectionStep = (typeof SELECTION_ORDER)[number];
/** Backends that run on a GPU: trainers on them take the GPU queue's jobs too. */
export const GPU_BACKENDS: readonly BackendName[] = ["tensorflow-gpu", "webgpu"];

/** What trying one step gives: loaded (with the device it runs on), or skipped with the reason. */
export type StepResult = { ok: true; device: string } | { ok: false; reason: string };

/** The outcome of the walk: the step chosen, its device, and every step skipped before it with its reason. */
export interface Selection {
  step: SelectionStep;
  backend: BackendName;
  device: string;
  skipped: Array<{ step: SelectionStep; reason: string }>;
}

/** A setting that makes the backend unusable as asked (not a step to skip: the trainer stops at start). */
export class BackendStartError extends Error {
  override name = "BackendStartError";
}

const backendOfStep = (step: SelectionStep): BackendName => (step === "wasm+native" ? "wasm" : step);

/**
 * Walks `order` and returns the first step `tryStep` loads, with the reasons of those skipped; `log` gets one line
 * per skipped step as it happens. Throws when none loads (naming each reason).
 */
export async function selectBackend(
  order: readonly SelectionStep[],
  tryStep: (step: SelectionStep) => Promise<StepResult>,
  log: (line: string) => void = () => {},
): Promise<Selection> {
  const skipped: Selection["skipped"] = [];
  for (const step of order) {
    let result: StepResult;
    try {
      result = await tryStep(step);
    } catch (err) {
      if (err instanceof BackendStartError) throw err;
      result = { ok: false, reason: (err as Error).message.split("\n")[0]! };
    }
    if (result.ok) return { step, backend: backendOfStep(step), device: result.device, skipped };
    skipped.push({ step, reason: result.reason });
    log(`tfjs backend: skipped ${step}: ${result.reason}`);
  }
  throw new Error(`no tfjs backend could be loaded (${skipped.map((s) => `${s.step}: ${s.reason}`).join("; ")})`);
}

/** The steps to walk: all of them, or those of a forced backend (wasm: with the native addon, then without). */
export function selectionOrder(force?: BackendName): SelectionStep[] {
  if (!force) return [...SELECTION_ORDER];
  return force === "wasm" ? ["wasm+native", "wasm"] : [force];
}

/** Not a setting: how a process hands its choice to the threads it starts afterwards (see initBackend). */
const SELECTED_STEP_ENV = "NAS_TFJS_SELECTED_STEP";

let chosen: Promise<BackendName> | undefined;
let selection: Selection | undefined;
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

/** The CPU's model name (Linux), else Node's. */
function cpuName(): string {
  try {
    const name = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1];
    if (name) return name.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown CPU";
}

const missing = (err: unknown) => {
  const message = (err as Error).message ?? String(err);
  return /Cannot find (package|module)/.test(message) ? "not installed (optional dependency)" : message.split("\n")[0]!;
};

async function tryTensorflow(pkg: string, gpu: boolean): Promise<StepResult> {
  try {
    await import(/* optional */ pkg);
  } catch (err) {
    return { ok: false, reason: `${pkg} ${missing(err)}` };
  }
  // tfjs-node-gpu registers itself as "tensorflow", as tfjs-node does.
  if (!(await tf.setBackend("tensorflow"))) return { ok: false, reason: `${pkg} loaded but its backend did not initialise` };
  return { ok: true, device: gpu ? "CUDA GPU (libtensorflow)" : `${cpuName()} (libtensorflow)` };
}

/**
 * WebGPU on Dawn, only when an adapter is there. Node has no `navigator.gpu`: Dawn's is installed as one before the
 * backend loads (the backend asks `navigator.gpu` for its adapter).
 */
async function tryWebgpu(): Promise<StepResult> {
  let gpu: GPU;
  try {
    const dawn = (await import("webgpu")) as { create(options: string[]): GPU; globals: object };
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create([]);
  } catch (err) {
    return { ok: false, reason: `Dawn (the webgpu package) did not load: ${missing(err)}` };
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return { ok: false, reason: "no GPU adapter found (Dawn: no Vulkan driver or GPU)" };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) return { ok: false, reason: "the webgpu backend did not initialise on the adapter" };
  const device = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ") || "GPU adapter";
  return { ok: true, device: `${device} (WebGPU, Dawn)` };
}

async function tryWasm(native: boolean, options: BackendOptions): Promise<StepResult> {
  await import("@tensorflow/tfjs-backend-wasm");
  // Route slow matMul cases to XNNPACK before the backend initialises (see wasm-kernels.ts).
  registerWasmKernels();
  if (!(await tf.setBackend("wasm"))) return { ok: false, reason: "the wasm backend did not initialise" };
  await tf.ready();
  const device = `${cpuName()}, 1 thread`;
  if (!native) {
    useNativeBlas(null);
    return { ok: true, device: `${device} (XNNPACK)` };
  }
  const settings = loadConfig();
  if ((options.nativeBlas ?? settings.NATIVE_BLAS) === "off") return { ok: false, reason: "NATIVE_BLAS=off" };
  const library = options.nativeBlasLibrary ?? settings.NATIVE_BLAS_LIBRARY;
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
  // N-API (Node 20) reads no SharedArrayBuffer: a multi-threaded wasm build keeps XNNPACK.
  const { blas, reason } = heap instanceof SharedArrayBuffer ? { blas: null, reason: "the wasm heap is shared (multi-threaded wasm)" } : loadNativeBlas(library);
  // A library named explicitly must load: silently training 3× slower is worse than stopping at start.
  if (library && !blas) throw new BackendStartError(`NATIVE_BLAS_LIBRARY=${library} cannot be used: ${reason}`);
  if (!blas) return { ok: false, reason: reason ?? "the native addon is not available" };
  useNativeBlas(blas);
  const fused = blas.kernels ? "fused native kernels" : "stock kernels (the addon predates the fused kernels: npm run build:native)";
  return { ok: true, device: `${device} (matrix products on ${blas.description}; ${fused})` };
}

/**
 * Initialises tfjs once per process and returns the backend in use. `force` (or TFJS_BACKEND) names one backend;
 * it is an error if that one cannot load.
 */
export function initBackend(options: BackendOptions = {}): Promise<BackendName> {
  chosen ??= (async () => {
    const settings = loadConfig();
    const force = options.force ?? settings.TFJS_BACKEND;
    const tryStep = async (step: SelectionStep): Promise<StepResult> => {
      switch (step) {
        case "tensorflow-gpu":
          return tryTensorflow("@tensorflow/tfjs-node-gpu", true);
        case "tensorflow":
          return tryTensorflow("@tensorflow/tfjs-node", false);
        case "webgpu":
          return tryWebgpu();
        case "wasm+native":
          return tryWasm(true, options);
        case "wasm":
          return tryWasm(false, options);
        case "cpu":
          await import("@tensorflow/tfjs-backend-cpu");
          return (await tf.setBackend("cpu")) ? { ok: true, device: `${cpuName()}, 1 thread (pure JavaScript)` } : { ok: false, reason: "the cpu backend did not initialise" };
      }
    };
    const log = (line: string) => console.error(line);
    // A worker thread of a process that already walked the order (a trainer's training threads inherit its
    // environment) starts at the step the process chose: the steps before it were skipped there already, each with
    // its reason logged once (and Dawn is not loaded again per trial just to find no adapter). Child processes,
    // which may run with other settings, walk the whole order again.
    let order = selectionOrder(force);
    const inherited = isMainThread ? undefined : (process.env[SELECTED_STEP_ENV] as SelectionStep | undefined);
    if (!force && inherited && order.includes(inherited)) order = order.slice(order.indexOf(inherited));
    let picked: Selection;
    try {
      picked = await selectBackend(order, tryStep, log);
    } catch (err) {
      if (err instanceof BackendStartError || !force) throw err;
      throw new Error(`tfjs backend '${force}' could not be loaded: ${(err as Error).message.replace(/^no tfjs backend could be loaded \((.*)\)$/, "$1")}`);
    }
    await tf.ready();
    // tfjs-node brings gradient functions; the Node bundle of tfjs-core does not (see tfjs-gradients.ts).
    await registerAllGradients();
    selection = picked;
    process.env[SELECTED_STEP_ENV] = picked.step;
    label = picked.step === "wasm+native" ? "wasm+openblas" : picked.backend;
    console.error(`tfjs backend: ${picked.backend}${picked.step === "wasm+native" ? " (native)" : ""} on ${picked.device}`);
    return picked.backend;
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

/** The device the backend runs on, in words (e.g. "Intel Xeon …, 1 thread (matrix products on OpenBLAS …)"). */
export function backendDevice(): string {
  if (!selection) throw new Error("backendDevice() before initBackend()");
  return selection.device;
}

/** The selection `initBackend` made (chosen step, device, the steps skipped and why), or undefined before. */
export function backendSelection(): Selection | undefined {
  return selection;
}

/** The backend `initBackend` chose in this thread, or undefined before it finished. */
export function currentBackend(): BackendName | undefined {
  return selection?.backend;
}
