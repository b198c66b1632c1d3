/**
 * Backend selection at start, in fresh processes (tfjs keeps one backend per process): the fastest that loads,
 * or the one TFJS_BACKEND forces; a forced backend that cannot load is an error that says so. On wasm, matrix
 * products go to OpenBLAS where the native addon and the library are installed, unless NATIVE_BLAS=off.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cpuFlags, loadNativeBlas, openblasCoreFromFlags } from "../../src/models/native-blas.js";
import { ROOT } from "../setup/env.js";

const native = loadNativeBlas();

function selectIn(env: Record<string, string>) {
  const script = `import { initBackend } from "./src/models/backend.ts"; import * as tf from "@tensorflow/tfjs-core";
    import { backendLabel } from "./src/models/backend.ts";
    initBackend().then((b) => { const y = tf.add(tf.tensor([1, 2]), 1).dataSync(); const p = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 1, 1, 1], [2, 2]), true).dataSync();
      console.log(JSON.stringify({ b, label: backendLabel(), active: tf.getBackend(), y: [...y], p: [...p] })); },
      (e) => { console.log(JSON.stringify({ error: e.message })); });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8" });
  return { ...JSON.parse(r.stdout.trim().split("\n").at(-1)!), stderr: r.stderr };
}

describe("tfjs backend selection", () => {
  it("uses the fastest backend that loads (wasm here, where tfjs-node cannot be installed) and logs it", () => {
    const r = selectIn({ TFJS_BACKEND: "" });
    expect(r).toMatchObject({ b: "wasm", active: "wasm", y: [2, 3] });
    expect(r.stderr).toContain("tfjs backend: wasm");
  });

  it.skipIf(!native.blas)("sends wasm's matrix products to OpenBLAS where installed, and says so; NATIVE_BLAS=off keeps XNNPACK", () => {
    const on = selectIn({ TFJS_BACKEND: "" });
    expect(on).toMatchObject({ b: "wasm", label: "wasm+openblas", p: [4, 4, 6, 6] });
    expect(on.stderr).toMatch(/tfjs backend: wasm, matrix products on OpenBLAS/);
    const off = selectIn({ TFJS_BACKEND: "wasm", NATIVE_BLAS: "off" });
    expect(off).toMatchObject({ b: "wasm", label: "wasm", p: [4, 4, 6, 6] });
    expect(off.stderr).not.toMatch(/OpenBLAS/);
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
    expect(r.error).toMatch(/^NATIVE_BLAS_LIBRARY=libdoes-not-exist.so cannot be used: (libdoes-not-exist.so has no cblas_sgemm or did not load|the native addon is not built)/);
  });

  it("honours TFJS_BACKEND", () => {
    expect(selectIn({ TFJS_BACKEND: "cpu" })).toMatchObject({ b: "cpu", active: "cpu", y: [2, 3] });
  });

  it("fails clearly when the forced backend cannot load", () => {
    expect(selectIn({ TFJS_BACKEND: "tensorflow-gpu" }).error).toBe("tfjs backend 'tensorflow-gpu' could not be loaded");
  });
});
