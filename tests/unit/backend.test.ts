/**
 * Backend selection at start, in fresh processes (tfjs keeps one backend per process): the fastest that loads,
 * or the one TFJS_BACKEND forces; a forced backend that cannot load is an error that says so.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../setup/env.js";

function selectIn(env: Record<string, string>) {
  const script = `import { initBackend } from "./src/models/backend.ts"; import * as tf from "@tensorflow/tfjs-core";
    initBackend().then((b) => { const y = tf.add(tf.tensor([1, 2]), 1).dataSync(); console.log(JSON.stringify({ b, active: tf.getBackend(), y: [...y] })); },
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

  it("honours TFJS_BACKEND", () => {
    expect(selectIn({ TFJS_BACKEND: "cpu" })).toMatchObject({ b: "cpu", active: "cpu", y: [2, 3] });
  });

  it("fails clearly when the forced backend cannot load", () => {
    expect(selectIn({ TFJS_BACKEND: "tensorflow-gpu" }).error).toBe("tfjs backend 'tensorflow-gpu' could not be loaded");
  });
});
