// Builds the optional native BLAS addon (native/blas → native/blas/build/nas_blas.node), run by `npm install`'s
// postinstall and by `npm run build:native`. It needs only a C compiler and Node's own headers (the addon opens
// OpenBLAS with dlopen at run time), so no download happens; where either is missing the build is skipped with a
// warning and trainers use the wasm backend's own matrix products. Never fails the install.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const source = path.join(root, "native/blas/sgemm.c");
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
    execFileSync(compiler, ["-O2", "-std=c11", "-fPIC", "-shared", "-Wall", `-I${nodeHeaders}`, source, "-o", output, "-ldl"], { stdio: "inherit" });
    console.log(`build-native: built ${path.relative(root, output)}`);
  } catch (err) {
    console.warn(`build-native: could not build the native BLAS addon (${err.message}); trainers will use wasm matrix products`);
  }
}
