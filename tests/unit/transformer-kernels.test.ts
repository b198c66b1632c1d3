/** The re-registered wasm kernels (src/models/wasm-kernels.ts) give the cpu backend's results, and free what they allocate. */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendLabel } from "../../src/models/backend.js";
import { loadNativeBlas } from "../../src/models/native-blas.js";
import { useNativeBlas } from "../../src/models/wasm-kernels.js";
import { Rng } from "../../src/core/rng.js";
import { useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

// The products run on XNNPACK (the wasm backend's own) or on OpenBLAS through the native addon (native-blas.ts).
// CI installs OpenBLAS and builds the addon, so both routes are tested there; elsewhere the OpenBLAS route is
// skipped when the library or the addon is missing (the reason is printed).
const native = loadNativeBlas();
if (!native.blas) console.warn(`OpenBLAS route not tested: ${native.reason}`);
const routes = [
  { name: "XNNPACK", blas: null, skip: false },
  { name: "OpenBLAS", blas: native.blas, skip: !native.blas },
];

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

describe.each(routes)("BatchMatMul routing on $name", ({ blas, skip }) => {
  beforeAll(() => useNativeBlas(blas));
  afterAll(() => useNativeBlas(native.blas));
  if (skip) return void it.skip("OpenBLAS or the native addon is not installed");
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
    // empty operands
    [[0, 7], [7, 3], false, false, [0, 3]],
    [[5, 0], [0, 3], false, false, [5, 3]],
    [[0, 5], [0, 3], true, false, [5, 3]],
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

  it("frees what it allocates, batched and transposed products included", () => {
    const backend = tf.engine().backend;
    const [a, b, c] = [tf.ones([6, 4, 3]), tf.ones([6, 5, 3]), tf.ones([3, 7])];
    const before = backend.numDataIds();
    tf.matMul(a, b, false, true).dispose();
    tf.matMul(a, c).dispose();
    tf.matMul(a, a, true, false).dispose();
    expect(backend.numDataIds()).toBe(before);
    tf.dispose([a, b, c]);
  });
});

describe("native BLAS", () => {
  it.runIf(process.env.CI)("is in use in CI, where OpenBLAS is installed and the addon built", () => {
    expect(native.reason).toBeUndefined();
    expect(backendLabel()).toBe("wasm+openblas");
  });

  it.skipIf(!native.blas)("rejects operands outside the heap instead of touching other memory", () => {
    const heap = new ArrayBuffer(4 * 64);
    expect(() => native.blas!.gemm(heap, false, false, 4, 4, 4, 0, 16, 60, 1, 0, 0, 0)).toThrow(/outside the buffer/);
    expect(() => native.blas!.gemm(heap, false, false, 2, 2, 2, 0, 4, 8, 3, 40, 4, 4)).toThrow(/outside the buffer/);
    expect(() => native.blas!.gemm(heap, false, false, -1, 2, 2, 0, 4, 8, 1, 0, 0, 0)).toThrow(/negative/);
  });

  it("NATIVE_BLAS=off keeps XNNPACK; a library without cblas_sgemm is refused with a reason", () => {
    if (!native.blas) return void expect(native.reason).toMatch(/addon is not built|OpenBLAS is not installed|did not load/);
    const wrong = loadNativeBlas("libc.so.6");
    expect(wrong.blas).toBeNull();
    expect(wrong.reason).toMatch(/libc.so.6 has no cblas_sgemm/);
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

  for (const { name, blas, skip } of routes) {
    for (const [shape, axis, keep] of [
      [[7, 5], 0, false],
      [[3, 4, 5], [0, 1], true],
      [[3, 4, 5], 2, false],
      [[300, 20], 0, false],
    ] as Array<[number[], number | number[], boolean]>) {
      it.skipIf(skip)(`sum [${shape}] over ${JSON.stringify(axis)}${keep ? " keeping dims" : ""} (${name} route)`, async () => {
        useNativeBlas(blas);
        try {
          expect((await compare([shape], (x) => tf.sum(x!, axis, keep))).diff).toBeLessThan(1e-4);
        } finally {
          useNativeBlas(native.blas);
        }
      });
    }
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
});
