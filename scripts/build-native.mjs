// Builds the optional native addon (native/blas → native/blas/build/nas_blas.node: the BLAS route of matrix products,
// sgemm.c, the fused training kernels, kernels.c, and the fused coupling layers of flows.c), run by `npm install`'s postinstall and by `npm run
// build:native`. It needs only a C compiler and Node's own headers (the addon opens OpenBLAS with dlopen at run
// time), so no download happens; where either is missing the build is skipped with a warning and trainers use the
// wasm backend's own kernels (`CC=false npm run build:native` shows it). Never fails the install.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sources = ["native/blas/sgemm.c", "native/blas/kernels.c", "native/blas/flows.c"].map((file) => path.join(root, file));
const output = path.join(root, "native/blas/build/nas_blas.node");
const nodeHeaders = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, "include/node"),
  path.join(path.dirname(process.execPath), "../include/node"),
].find((dir) => dir && existsSync(path.join(dir, "node_api.h")));
const compiler = process.env.CC || "cc";

if (!nodeHeaders) {
  console.warn("build-native: Node's headers (node_api.h) not found; skipping the native BLAS addon");
} else {
  try {
    mkdirSync(path.dirname(output), { recursive: true });
    // -O3 vectorises most of the kernels' loops; kernels.c also compiles them for AVX-512 and AVX2 (chosen at load), so the
    // addon stays portable across x86-64 CPUs. No -ffast-math and no contraction into fused multiply-adds: the kernels
    // round as the JavaScript and wasm code they replace (the optimizer update is bit for bit the same).
    // -fno-math-errno only stops sqrt from setting errno (its results are the same), which lets the AdamW loop vectorise;
    // -fno-trapping-math lets compares run unconditionally (no program here enables floating-point traps; results are
    // the same), which lets the activation loops' clamps become vector selects.
    execFileSync(compiler, ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11", "-fPIC", "-shared", "-Wall", "-Wno-psabi", `-I${nodeHeaders}`, ...sources, "-o", output, "-ldl", "-lm"], { stdio: "inherit" });
    console.log(`build-native: built ${path.relative(root, output)}`);
  } catch (err) {
    console.warn(`build-native: could not build the native BLAS addon (${err.message}); trainers will use wasm matrix products`);
  }
}
