/** Every flow block: round trip, log-det against the Jacobian, and the block-specific properties. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ActNorm,
  AdditiveCoupling,
  type Dense,
  AffineCoupling,
  CompositeTransform,
  LULinear,
  MaskedAutoregressive,
  Permutation,
  couplingMask,
  madeMasks,
  type Transform,
} from "../../src/models/flows/index.js";
import { Rng } from "../../src/core/rng.js";
import { checkTransform, jacobianAutodiff, maxAbsDiff, perturb, randomPoints, useWasm } from "./flows-helpers.js";

beforeAll(useWasm);

const cond = { width: 16, depth: 2, activation: "swish" as const };

const blocks: Array<[string, (dim: number) => Transform]> = [
  ["NICE additive coupling (half mask)", (d) => new AdditiveCoupling({ mask: couplingMask("half", d, 0), conditioner: cond }, new Rng(1))],
  ["RealNVP affine coupling, tanh bound", (d) => new AffineCoupling({ mask: couplingMask("half", d, 1), conditioner: cond, scaleBound: "tanh" }, new Rng(2))],
  ["RealNVP affine coupling, sigmoid bound", (d) => new AffineCoupling({ mask: couplingMask("half", d, 0), conditioner: { ...cond, activation: "elu" }, scaleBound: "sigmoid" }, new Rng(3))],
  ["affine coupling, checkerboard mask", () => new AffineCoupling({ mask: couplingMask("checkerboard", 4, 1, { height: 2, width: 2 }), conditioner: { ...cond, activation: "tanh" }, scaleBound: "tanh" }, new Rng(4))],
  ["MAF (MADE), tanh bound", (d) => new MaskedAutoregressive(d, { ...cond, scaleBound: "tanh" }, new Rng(5))],
  ["MAF (MADE), sigmoid bound", (d) => new MaskedAutoregressive(d, { ...cond, depth: 1, scaleBound: "sigmoid" }, new Rng(6))],
  ["actnorm", (d) => new ActNorm(d)],
  ["reverse permutation", (d) => Permutation.reverse(d)],
  ["random permutation", (d) => Permutation.random(d, new Rng(7))],
  ["LU linear", (d) => new LULinear(d, new Rng(8))],
];

describe("flow blocks: round trip and log-det", () => {
  for (const [name, make] of blocks) {
    it(name, () => {
      for (const dim of name.includes("checkerboard") ? [4] : [2, 4]) {
        const t = make(dim);
        perturb(t.variables(), 11, 0.4);
        const x = randomPoints(6, dim, 3);
        checkTransform(t, x);
        x.dispose();
        t.dispose();
      }
    });
  }

  it("a chain of blocks is a transform", () => {
    const d = 3;
    const chain = new CompositeTransform([
      new ActNorm(d),
      new LULinear(d, new Rng(1)),
      new AffineCoupling({ mask: couplingMask("half", d, 0), conditioner: cond, scaleBound: "tanh" }, new Rng(2)),
      Permutation.reverse(d),
      new MaskedAutoregressive(d, { ...cond, scaleBound: "sigmoid" }, new Rng(3)),
      new AdditiveCoupling({ mask: couplingMask("half", d, 1), conditioner: cond }, new Rng(4)),
    ]);
    perturb(chain.variables(), 5, 0.3);
    const x = randomPoints(5, d, 9);
    checkTransform(chain, x);
    chain.dispose();
  });
});

describe("conditioner initialisation", () => {
  it("a 2-D coupling's smooth units start in their nonlinear range (fan-in init, not Glorot's ≤ 0.22 weights)", () => {
    // The conditioner sees one coordinate; standardised inputs in ±2 must reach |pre-activation| > 1 in many units,
    // or tanh/ELU/swish conditioners start (and stay for most of a run) nearly linear. Glorot: max |w·x + 0| ≈ 0.43.
    const coupling = new AffineCoupling({ mask: couplingMask("half", 2, 0), conditioner: { width: 128, depth: 2, activation: "tanh" }, scaleBound: "tanh" }, new Rng(1));
    const first = (coupling.conditioner as unknown as { ops: unknown[] }).ops[0] as Dense;
    const x = tf.tensor2d(Array.from({ length: 41 }, (_, i) => -2 + i / 10), [41, 1]);
    const pre = first.apply(x);
    const reach = tf.tidy(() => tf.max(tf.abs(pre), 0).arraySync() as number[]);
    expect(reach.filter((r) => r > 1).length / reach.length).toBeGreaterThan(0.25);
    expect(tf.tidy(() => tf.max(tf.abs(first.bias)).arraySync() as number)).toBeGreaterThan(0.5); // biases spread the kinks
    tf.dispose([x, pre]);
    coupling.dispose();
  });
});

describe("MADE", () => {
  it("masks connect output i only to inputs before i", () => {
    const d = 5;
    const [m0, m1, m2] = madeMasks(d, 8, 2, 2) as [number[][], number[][], number[][]];
    // Connectivity input→output = product of the masks (path counts).
    const mul = (a: number[][], b: number[][]) => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
    const conn = mul(mul(m0, m1), m2);
    for (let i = 0; i < d; i++) for (let o = 0; o < 2 * d; o++) if (i >= o % d) expect(conn[i]![o]).toBe(0);
    // With width ≥ D−1 every allowed connection exists.
    for (let o = 1; o < d; o++) expect(conn[0]![o]).toBeGreaterThan(0);
  });

  it("gives MAF a lower-triangular Jacobian under the ordering", () => {
    const d = 5;
    const maf = new MaskedAutoregressive(d, { width: 12, depth: 2, activation: "relu", scaleBound: "tanh" }, new Rng(3));
    perturb(maf.variables(), 4, 0.5);
    const x = randomPoints(3, d, 5);
    const jac = jacobianAutodiff((xx) => maf.forward(xx).output, x);
    for (const j of jac) {
      for (let i = 0; i < d; i++) for (let k = i + 1; k < d; k++) expect(j[i]![k]).toBe(0);
      // and actually depends on earlier inputs
      expect(Math.abs(j[d - 1]![0]!)).toBeGreaterThan(0);
    }
    maf.dispose();
  });
});

describe("actnorm", () => {
  it("data-dependent init gives zero mean and unit variance on the initialising batch", () => {
    const d = 3;
    const an = new ActNorm(d);
    const x = tf.tidy(() => tf.add(tf.mul(randomPoints(256, d, 1), tf.tensor1d([3, 0.2, 10])), tf.tensor1d([5, -2, 0.5])) as tf.Tensor2D);
    an.initialize(x);
    const { mean, variance } = tf.moments(an.forward(x).output, 0);
    expect(maxAbsDiff(mean, tf.zeros([d]))).toBeLessThan(1e-4);
    expect(maxAbsDiff(variance, tf.ones([d]))).toBeLessThan(1e-3);
    an.dispose();
  });
});

describe("LU linear", () => {
  it("has D² parameters and a log-det of Σ diag", () => {
    const lu = new LULinear(4, new Rng(2));
    expect(lu.variables().reduce((n, v) => n + v.size, 0)).toBe(16);
    perturb(lu.variables(), 1, 0.5);
    const w = lu.weight().arraySync();
    const packed = lu.packed.arraySync() as number[][];
    const sumDiag = packed.reduce((s, r, i) => s + r[i]!, 0);
    const x = randomPoints(2, 4, 1);
    expect(Math.abs(lu.forward(x).logDet.arraySync()[0]! - sumDiag)).toBeLessThan(1e-5);
    expect(w.length).toBe(4);
    lu.dispose();
  });
});
