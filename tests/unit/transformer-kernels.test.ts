/** The re-registered wasm kernels (src/models/wasm-kernels.ts) give the cpu backend's results, and free what they allocate. */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/spaces/rng.js";
import { useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((p, s) => p * s, 1) }, () => rng.normal());
}

/** Runs `op` on wasm and on cpu with the same inputs; returns the largest absolute difference. */
async function compare(shapes: number[][], op: (...xs: tf.Tensor[]) => tf.Tensor): Promise<{ diff: number; shape: number[] }> {
  const data = shapes.map((s, i) => values(s, i + 1));
  const wasmOut = tf.tidy(() => op(...shapes.map((s, i) => tf.tensor(data[i]!, s))));
  const got = { v: wasmOut.dataSync().slice(), shape: wasmOut.shape };
  wasmOut.dispose();
  await tf.setBackend("cpu");
  const want = tf.tidy(() => op(...shapes.map((s, i) => tf.tensor(data[i]!, s))).dataSync().slice());
  await tf.setBackend("wasm");
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i]! - got.v[i]!));
  expect(got.v.length).toBe(want.length);
  return { diff, shape: got.shape };
}

describe("BatchMatMul routing", () => {
  const cases: Array<[number[], number[], boolean, boolean, number[]]> = [
    [[5, 7], [7, 3], false, false, [5, 3]],
    [[7, 5], [7, 3], true, false, [5, 3]],
    [[5, 7], [3, 7], false, true, [5, 3]],
    [[7, 5], [3, 7], true, true, [5, 3]],
    [[4, 5, 7], [4, 7, 3], false, false, [4, 5, 3]],
    [[4, 7, 5], [4, 3, 7], true, true, [4, 5, 3]],
    [[4, 5, 7], [4, 3, 7], false, true, [4, 5, 3]],
    [[4, 5, 7], [7, 3], false, false, [4, 5, 3]],
    [[4, 7, 5], [3, 7], true, true, [4, 5, 3]],
    [[5, 7], [4, 7, 3], false, false, [4, 5, 3]],
    [[2, 3, 5, 7], [2, 3, 3, 7], false, true, [2, 3, 5, 3]],
    // items above the small-product threshold take the per-item XNNPACK path
    [[3, 40, 30], [3, 30, 20], false, false, [3, 40, 20]],
    [[3, 30, 40], [3, 20, 30], true, true, [3, 40, 20]],
    [[3, 40, 30], [30, 20], false, false, [3, 40, 20]],
    [[40, 30], [3, 20, 30], false, true, [3, 40, 20]],
  ];
  for (const [sa, sb, ta, tb, out] of cases) {
    it(`[${sa}]${ta ? "ᵀ" : ""} · [${sb}]${tb ? "ᵀ" : ""}`, async () => {
      const { diff, shape } = await compare([sa, sb], (a, b) => tf.matMul(a!, b!, ta, tb));
      expect(shape).toEqual(out);
      expect(diff).toBeLessThan(1e-4);
    });
  }

  it("rejects mismatched inner dimensions", () => {
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2]))).toThrow(/inner shapes/);
  });
});

describe("Transpose, Identity and Sum", () => {
  for (const [shape, perm] of [
    [[3, 4, 2, 5], [0, 2, 1, 3]],
    [[2, 3, 3, 2, 4], [2, 0, 3, 1, 4]],
    [[3, 4, 5], [1, 0, 2]],
    [[3, 4, 5], [0, 2, 1]],
  ] as Array<[number[], number[]]>) {
    it(`transpose [${shape}] by [${perm}]`, async () => {
      expect((await compare([shape], (x) => tf.transpose(x!, perm))).diff).toBe(0);
    });
  }

  for (const [shape, axis, keep] of [
    [[7, 5], 0, false],
    [[3, 4, 5], [0, 1], true],
    [[3, 4, 5], 2, false],
  ] as Array<[number[], number | number[], boolean]>) {
    it(`sum [${shape}] over ${JSON.stringify(axis)}${keep ? " keeping dims" : ""}`, async () => {
      expect((await compare([shape], (x) => tf.sum(x!, axis, keep))).diff).toBeLessThan(1e-5);
    });
  }

  it("identity aliases the data and frees it when the last tensor goes", () => {
    const backend = tf.engine().backend;
    const before = backend.numDataIds();
    const a = tf.tensor([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it("batched products free their temporaries", () => {
    const backend = tf.engine().backend;
    const a = tf.ones([6, 4, 3]);
    const b = tf.ones([6, 5, 3]);
    const before = backend.numDataIds();
    tf.matMul(a, b, false, true).dispose();
    expect(backend.numDataIds()).toBe(before);
    tf.dispose([a, b]);
  });
});
