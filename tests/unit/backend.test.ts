/**
 * Backend selection at start, in fresh processes (tfjs keeps one backend per process): the fastest that loads,
 * or the one TFJS_BACKEND forces; a forced backend that cannot load is an error that says so. On wasm, matrix
 * products go to OpenBLAS where the native addon and the library are installed, unless NATIVE_BLAS=off or
 * NAS_NATIVE=off. The walk over tfjs-node-gpu → tfjs-node → webgpu → wasm+native → wasm → cpu is also checked with
 * loaders standing in for each step (the GPU candidates unavailable, or one available), as no GPU is here.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BackendStartError, GPU_BACKENDS, SELECTION_ORDER, selectBackend, selectionOrder, type SelectionStep, type StepResult } from "../../src/models/backend.js";
import { cpuFlags, loadNativeBlas, nativeDisabled, openblasCoreFromFlags } from "../../src/models/native-blas.js";
import { ROOT } from "../setup/env.js";

const native = loadNativeBlas();

function selectIn(env: Record<string, string>) {
  const script = `import { initBackend } from "./src/models/backend.ts"; import * as tf from "@tensorflow/tfjs-core";
    import { backendLabel } from "./src/models/backend.ts";
    initBackend().then((b) => { const y = tf.add(tf.tensor([1, 2]), 1).dataSync(); const p = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 1, 1, 1], [2, 2]), true).dataSync();
      console.log(JSON.stringify({ b, label: backendLabel(), active: tf.getBackend(), y: [...y], p: [...p] })); },
      (e) => { console.log(JSON.stringify({ error: e.message })); });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, NAS_TFJS_SELECTED_STEP: "", ...env }, encoding: "utf8" });
  return { ...JSON.parse(r.stdout.trim().split("\n").at(-1)!), stderr: r.stderr };
}

describe("the selection order, with stand-in loaders", () => {
  const loaders = (available: Partial<Record<SelectionStep, string>>) => {
    const tried: SelectionStep[] = [];
    const tryStep = async (step: SelectionStep): Promise<StepResult> => {
      tried.push(step);
      return available[step] ? { ok: true, device: available[step] } : { ok: false, reason: `${step} unavailable here` };
    };
    return { tried, tryStep };
  };

  it("walks tfjs-node-gpu → tfjs-node → webgpu → wasm+native → wasm → cpu, logging each skipped step with its reason", async () => {
    expect(SELECTION_ORDER).toEqual(["tensorflow-gpu", "tensorflow", "webgpu", "wasm+native", "wasm", "cpu"]);
    const { tried, tryStep } = loaders({ "wasm+native": "a CPU (OpenBLAS)", wasm: "a CPU", cpu: "a CPU" });
    const lines: string[] = [];
    const s = await selectBackend(selectionOrder(), tryStep, (l) => lines.push(l));
    expect(s).toMatchObject({ step: "wasm+native", backend: "wasm", device: "a CPU (OpenBLAS)" });
    expect(tried).toEqual(["tensorflow-gpu", "tensorflow", "webgpu", "wasm+native"]);
    expect(lines).toEqual([
      "tfjs backend: skipped tensorflow-gpu: tensorflow-gpu unavailable here",
      "tfjs backend: skipped tensorflow: tensorflow unavailable here",
      "tfjs backend: skipped webgpu: webgpu unavailable here",
    ]);
  });

  it("takes a GPU candidate when one loads (webgpu with an adapter), a GPU backend", async () => {
    const { tryStep } = loaders({ webgpu: "NVIDIA H200 (WebGPU, Dawn)", wasm: "a CPU" });
    const s = await selectBackend(selectionOrder(), tryStep);
    expect(s).toMatchObject({ step: "webgpu", backend: "webgpu", skipped: [{ step: "tensorflow-gpu" }, { step: "tensorflow" }] });
    expect(GPU_BACKENDS).toContain(s.backend);
    expect(GPU_BACKENDS).not.toContain("wasm");
  });

  it("without the native addon, falls to plain wasm; a throwing loader is a skip; none at all is an error naming each reason", async () => {
    const { tryStep } = loaders({ wasm: "a CPU" });
    expect((await selectBackend(selectionOrder(), tryStep)).step).toBe("wasm");
    const boom = async (step: SelectionStep): Promise<StepResult> => {
      if (step === "webgpu") throw new Error("Dawn crashed\nstack");
      return { ok: false, reason: "no" };
    };
    await expect(selectBackend(selectionOrder(), boom)).rejects.toThrow(/no tfjs backend could be loaded \(.*webgpu: Dawn crashed; wasm\+native: no/);
    // A setting that cannot be honoured stops the walk instead of being skipped.
    const fatal = async (): Promise<StepResult> => {
      throw new BackendStartError("NATIVE_BLAS_LIBRARY=x cannot be used");
    };
    await expect(selectBackend(selectionOrder(), fatal)).rejects.toBeInstanceOf(BackendStartError);
  });

  it("a forced backend walks only its own steps (wasm: with the native addon first)", () => {
    expect(selectionOrder("wasm")).toEqual(["wasm+native", "wasm"]);
    expect(selectionOrder("webgpu")).toEqual(["webgpu"]);
    expect(selectionOrder("cpu")).toEqual(["cpu"]);
  });

  it("NAS_NATIVE=off rules the addon out", () => {
    expect(nativeDisabled({ NAS_NATIVE: "off" })).toBe(true);
    expect(nativeDisabled({})).toBe(false);
  });
});

describe("tfjs backend selection", () => {
  it("uses the fastest backend that loads (wasm here, where tfjs-node cannot be installed), logging the steps skipped and the device", () => {
    const r = selectIn({ TFJS_BACKEND: "" });
    expect(r).toMatchObject({ b: "wasm", active: "wasm", y: [2, 3] });
    expect(r.stderr).toMatch(/tfjs backend: skipped tensorflow-gpu: @tensorflow\/tfjs-node-gpu (not installed|.+)/);
    expect(r.stderr).toMatch(/tfjs backend: skipped tensorflow: @tensorflow\/tfjs-node/);
    expect(r.stderr).toMatch(/tfjs backend: skipped webgpu: (no GPU adapter found|Dawn)/);
    expect(r.stderr).toMatch(/tfjs backend: wasm( \(native\))? on .+, 1 thread/);
  });

  it("a worker thread of a process that chose already starts at its step; a child process walks the order again", () => {
    const script = `import { Worker } from "node:worker_threads";
      const body = 'import("tsx/esm/api").then(({ tsImport }) => tsImport("./src/models/backend.ts", "file://${ROOT}/")).then((m) => m.initBackend().then(() => console.log("thread:" + m.backendLabel())))';
      new Worker(body, { eval: true, env: { ...process.env, NAS_TFJS_SELECTED_STEP: "wasm" } });`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, TFJS_BACKEND: "" }, encoding: "utf8" });
    expect(r.stdout).toContain("thread:wasm");
    expect(r.stdout).not.toContain("thread:wasm+openblas");
    expect(r.stderr).not.toContain("skipped");
    const child = selectIn({ TFJS_BACKEND: "", NAS_TFJS_SELECTED_STEP: "wasm" });
    expect(child.stderr).toContain("skipped webgpu");
  });

  it("NAS_NATIVE=off: plain wasm, the native step skipped with that reason", () => {
    const r = selectIn({ TFJS_BACKEND: "", NAS_NATIVE: "off" });
    expect(r).toMatchObject({ b: "wasm", label: "wasm", p: [4, 4, 6, 6] });
    expect(r.stderr).toContain("tfjs backend: skipped wasm+native: NAS_NATIVE=off");
    expect(r.stderr).toMatch(/tfjs backend: wasm on .*\(XNNPACK\)/);
  });

  it.skipIf(!native.blas)("sends wasm's matrix products to OpenBLAS where installed, and says so; NATIVE_BLAS=off keeps XNNPACK", () => {
    const on = selectIn({ TFJS_BACKEND: "" });
    expect(on).toMatchObject({ b: "wasm", label: "wasm+openblas", p: [4, 4, 6, 6] });
    expect(on.stderr).toMatch(/tfjs backend: wasm \(native\) on .*matrix products on OpenBLAS/);
    const off = selectIn({ TFJS_BACKEND: "wasm", NATIVE_BLAS: "off" });
    expect(off).toMatchObject({ b: "wasm", label: "wasm", p: [4, 4, 6, 6] });
    expect(off.stderr).not.toMatch(/on OpenBLAS/);
    expect(off.stderr).toContain("skipped wasm+native: NATIVE_BLAS=off");
  });

  it("picks OpenBLAS's kernels from the CPU's features unless OPENBLAS_CORETYPE says otherwise", () => {
    expect(openblasCoreFromFlags(new Set(["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]))).toBe("SkylakeX");
    expect(openblasCoreFromFlags(new Set(["avx2", "fma", "avx512f"]))).toBe("Haswell");
    expect(openblasCoreFromFlags(new Set(["sse4_2", "avx"]))).toBeUndefined();
    if (!native.blas) return;
    const expected = openblasCoreFromFlags(cpuFlags());
    if (expected) expect(selectIn({ TFJS_BACKEND: "", OPENBLAS_CORETYPE: "" }).stderr).toMatch(new RegExp(`OpenBLAS .* ${expected} `));
    expect(selectIn({ TFJS_BACKEND: "", OPENBLAS_CORETYPE: "Sandybridge" }).stderr).toMatch(/OpenBLAS .* Sandybridge /);
  });

  it("stops at start when the BLAS named by NATIVE_BLAS_LIBRARY cannot be used, saying why", () => {
    const r = selectIn({ TFJS_BACKEND: "wasm", NATIVE_BLAS_LIBRARY: "libdoes-not-exist.so" });
    expect(r.error).toMatch(/^NATIVE_BLAS_LIBRARY=libdoes-not-exist.so cannot be used: (libdoes-not-exist.so has no cblas_sgemm or did not load|the native addon is not built|NAS_NATIVE=off)/);
  });

  it("honours TFJS_BACKEND", () => {
    expect(selectIn({ TFJS_BACKEND: "cpu" })).toMatchObject({ b: "cpu", active: "cpu", y: [2, 3] });
  });

  it("fails clearly when the forced backend cannot load", () => {
    expect(selectIn({ TFJS_BACKEND: "tensorflow-gpu" }).error).toMatch(/^tfjs backend 'tensorflow-gpu' could not be loaded: tensorflow-gpu: @tensorflow\/tfjs-node-gpu/);
    expect(selectIn({ TFJS_BACKEND: "webgpu" }).error).toMatch(/^tfjs backend 'webgpu' could not be loaded: webgpu: (no GPU adapter found|Dawn)/);
  });
});
