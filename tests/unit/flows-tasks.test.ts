/** Density tasks: fixed splits, true entropies against Monte Carlo, MNIST split and Jacobians, PNG encoding. */
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { DENSITY_TASKS, densityDataset, densityTask, SPLIT_SIZES, trueEntropy } from "../../src/tasks/densities.js";
import { bitsPerDim, fromLogitSpace, MNIST_SPLIT, mnistDataset, toLogitSpace } from "../../src/tasks/mnist.js";
import { densityPng, gridPoints, imageGridPng, labelBand } from "../../src/tasks/plots.js";

describe("2-D density tasks", () => {
  it("have fixed-size splits, reproducible from the data seed", () => {
    for (const name of DENSITY_TASKS) {
      const a = densityDataset(name, 0);
      const b = densityDataset(name, 0);
      expect(a.train.length).toBe(2 * SPLIT_SIZES.train);
      expect(a.val.length).toBe(2 * SPLIT_SIZES.val);
      expect(a.test.length).toBe(2 * SPLIT_SIZES.test);
      expect(a.test).toEqual(b.test);
      expect(densityDataset(name, 1).test).not.toEqual(a.test);
      expect(a.train.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeLessThan(a.task.extent + 1);
    }
  });

  it("true entropies agree with a Monte Carlo estimate from the generator", () => {
    expect(trueEntropy("checkerboard")).toBeCloseTo(Math.log(32), 12);
    expect(trueEntropy("pinwheel")).toBeUndefined();
    expect(trueEntropy("2spirals")).toBeUndefined();
    for (const name of ["8gaussians", "checkerboard", "two-moons"] as const) {
      const task = densityTask(name);
      const n = name === "two-moons" ? 5000 : 20_000;
      const x = task.sample(n, new Rng(12345));
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < n; i++) {
        const v = -task.logDensity!(x[2 * i]!, x[2 * i + 1]!);
        sum += v;
        sumSq += v * v;
      }
      const mc = sum / n;
      const se = Math.sqrt((sumSq / n - mc * mc) / n);
      const h = trueEntropy(name)!;
      // within 4 standard errors (and 0.02 nats, the resolution that matters for a gap)
      expect(Math.abs(mc - h), `${name}: H=${h}, MC=${mc} ± ${se}`).toBeLessThan(Math.max(4 * se, 1e-9) + 1e-3);
      expect(Math.abs(mc - h)).toBeLessThan(0.02);
    }
  });

  it("known densities integrate to 1", () => {
    for (const name of ["8gaussians", "two-moons"] as const) {
      const task = densityTask(name);
      const e = task.extent + 1;
      const size = 200;
      const pts = gridPoints(e, size);
      let s = 0;
      for (let i = 0; i < size * size; i++) s += Math.exp(task.logDensity!(pts[2 * i]!, pts[2 * i + 1]!));
      expect(s * ((2 * e) / size) ** 2).toBeCloseTo(1, 3);
    }
  });
});

describe("mnist task", () => {
  it("splits the 10,000 digits 8000/1000/1000 and downsamples to 14×14", () => {
    const d28 = mnistDataset(28);
    const d14 = mnistDataset(14);
    expect(d28.train.length / 784).toBe(MNIST_SPLIT.train);
    expect(d28.val.length / 784).toBe(MNIST_SPLIT.val);
    expect(d28.test.length / 784).toBe(MNIST_SPLIT.test);
    expect(d14.dim).toBe(196);
    expect(d14.train.length / 196).toBe(MNIST_SPLIT.train);
    // the 2×2 mean of the first image's top-left block
    const img = d28.train;
    expect(d14.train[0]).toBe(Math.round((img[0]! + img[1]! + img[28]! + img[29]!) / 4));
    expect(Math.max(...d28.train.subarray(0, 784))).toBeGreaterThan(200);
  });

  it("logit transform: Jacobian term matches numerical derivatives; inverse recovers pixels", () => {
    const pixels = Uint8Array.from([0, 17, 128, 255]);
    const seedA = toLogitSpace(pixels, 4, [0], new Rng(1));
    // Recompute with the same noise by replaying the generator: s(y), and ds/dy numerically.
    const rng = new Rng(1);
    let lj = 0;
    for (const p of pixels) {
      const y = p + rng.next();
      const s = (v: number) => {
        const q = 0.05 + (0.9 * v) / 256;
        return Math.log(q / (1 - q));
      };
      lj += Math.log((s(y + 1e-4) - s(y - 1e-4)) / 2e-4);
    }
    expect(seedA.logJacobian[0]).toBeCloseTo(lj, 4);
    const back = fromLogitSpace(seedA.s);
    back.forEach((v, i) => expect(Math.floor(v)).toBe(pixels[i]));
    // bits/dim of a standard normal in logit space, data space: finite and positive.
    expect(bitsPerDim(-4 * 1.4, seedA.logJacobian[0]!, 4)).toBeGreaterThan(0);
  });
});

describe("plots", () => {
  it("encode valid PNGs of the expected size", () => {
    const size = 32;
    const logDensity = new Float32Array(size * size).map((_, i) => -(((i % size) - 16) ** 2) / 50);
    const samples = densityTask("8gaussians").sample(500, new Rng(1));
    const png = PNG.sync.read(densityPng({ extent: 4.5, size, logDensity, samples, data: samples }));
    expect(png.width).toBe(3 * size + 8);
    expect(png.height).toBe(size + labelBand(1)); // the panels under their labels' band
    const grid = PNG.sync.read(imageGridPng(new Float32Array(4 * 196).fill(200), 4, 14, 14, 2, 2));
    expect(grid.width).toBe(2 * (28 + 2) + 2);
  });
});
