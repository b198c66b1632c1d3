/**
 * The fused coupling layer (native/blas/flows.c through src/models/flows/fused-coupling.ts) computes what the
 * plain tfjs layer computes: z, log|det J| and the gradients of x and of every weight, for additive and affine
 * couplings (both scale bounds), every conditioner activation, depths 1 and 2, prefix and non-prefix masks; the
 * inverse (plain ops) undoes the fused forward pass; and the reference RealNVP follows the same training curve
 * on the fused route as on plain wasm. Skipped where the addon is not built (then the plain layer is all there is).
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { AdditiveCoupling, AffineCoupling, buildFlow, REFERENCE_REALNVP, type ConditionerSpec, type Transform } from "../../src/models/flows/index.js";
import { loadNativeBlas } from "../../src/models/native-blas.js";
import { fusedKernels } from "../../src/models/native-kernels.js";
import { AdamW, trainStep } from "../../src/models/training/index.js";
import { useNativeBlas } from "../../src/models/wasm-kernels.js";
import { useWasm } from "./transformer-helpers.js";

const native = loadNativeBlas();
const fused = native.blas?.kernels ? native.blas : null;

beforeAll(useWasm);
afterEach(() => useNativeBlas(native.blas));

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale), shape);
}

function worst(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let w = 0;
  for (let i = 0; i < x.length; i++) w = Math.max(w, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  return w;
}

/** z, log-det and the gradients of Σ z·rz + Σ logdet·rl in x and every variable, on the current route. */
function run(layer: Transform, x: tf.Tensor2D, rz: tf.Tensor, rl: tf.Tensor): tf.Tensor[] {
  const { output, logDet } = layer.forward(x);
  const vars = layer.variables();
  const loss = () => tf.add(tf.sum(tf.mul(layer.forward(x).output, rz)), tf.sum(tf.mul(layer.forward(x).logDet, rl))) as tf.Scalar;
  const dx = tf.grad((xi: tf.Tensor) => {
    const r = layer.forward(xi as tf.Tensor2D);
    return tf.add(tf.sum(tf.mul(r.output, rz)), tf.sum(tf.mul(r.logDet, rl))) as tf.Scalar;
  })(x);
  const { grads } = tf.variableGrads(loss, vars);
  return [output, logDet, dx, ...vars.map((v) => grads[v.name]!)];
}

const layers: Array<[string, (mask: number[], c: ConditionerSpec, rng: Rng) => Transform]> = [
  ["additive", (mask, conditioner, rng) => new AdditiveCoupling({ mask, conditioner }, rng)],
  ["affine, tanh bound", (mask, conditioner, rng) => new AffineCoupling({ mask, conditioner, scaleBound: "tanh" }, rng)],
  ["affine, sigmoid bound", (mask, conditioner, rng) => new AffineCoupling({ mask, conditioner, scaleBound: "sigmoid" }, rng)],
];

describe.skipIf(!fused)("the fused coupling layer against the plain tfjs layer (wasm with the native addon)", () => {
  for (const [name, make] of layers) {
    it(`${name}: every activation, depth 1 and 2, masks [1,0], [0,1] and [1,0,1,1,0]: z, log-det, dx and every weight's gradient`, () => {
      for (const activation of ["relu", "tanh", "elu", "swish"] as const) {
        for (const depth of [1, 2]) {
          for (const mask of [[1, 0], [0, 1], [1, 0, 1, 1, 0]]) {
            const d = mask.length;
            const layer = make(mask, { width: 16, depth, activation }, new Rng(depth * 7 + d));
            const [x, rz, rl] = [random([37, d], 1, 2) as tf.Tensor2D, random([37, d], 2), random([37], 3)];
            const what = `${name}, ${activation}, depth ${depth}, mask ${mask.join("")}`;
            useNativeBlas(fused);
            expect(fusedKernels()).not.toBeNull();
            const back = layer.inverse(layer.forward(x).output).output;
            expect(worst(back, x), `${what}: inverse of the fused forward pass`).toBeLessThan(1e-5);
            // Larger weights than the near-identity start, so that the conditioner, the scale and its bound matter.
            for (const v of layer.variables()) v.assign(tf.mul(v, 4));
            const a = run(layer, x, rz, rl);
            useNativeBlas(null);
            const b = run(layer, x, rz, rl);
            expect(a.length, what).toBe(b.length);
            a.forEach((t, i) => expect(worst(t, b[i]!), `${what}: output ${i}`).toBeLessThan(2e-4));
            layer.dispose();
          }
        }
      }
    });
  }

  it("the reference RealNVP: the same training curve on the fused route and on plain wasm", () => {
    const rng = new Rng(3);
    const batches = Array.from({ length: 15 }, () => Float32Array.from({ length: 2 * 64 }, () => rng.normal() * 1.5));
    const curve = (blas: typeof fused) => {
      useNativeBlas(blas);
      const flow = buildFlow(REFERENCE_REALNVP, { dim: 2 }, 5);
      const optimizer = new AdamW(flow.variables(), { weightDecay: 0 });
      const losses = batches.map((x) => trainStep(flow.variables(), () => tf.neg(tf.mean(flow.logProb(tf.tensor2d(x, [64, 2])))) as tf.Scalar, optimizer, 1e-2, 1).loss);
      optimizer.dispose();
      flow.dispose();
      return losses;
    };
    const [a, b] = [curve(fused), curve(null)];
    expect(a[a.length - 1]).toBeLessThan(a[0]!);
    a.forEach((l, i) => expect(Math.abs(l - b[i]!), `step ${i}: ${l} vs ${b[i]}`).toBeLessThan(1e-3));
  });
});
