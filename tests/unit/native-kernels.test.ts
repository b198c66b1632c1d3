/**
 * The fused native kernels (native/blas/kernels.c through src/models/native-kernels.ts and fused-ops.ts) compute
 * what the plain tfjs ops compute: values and gradients of the fused linear layer and attention, the AdamW update
 * in one native call against the host loops, and, on a tiny Transformer, the same seed giving the same learning
 * curve on the fused route, on plain wasm (XNNPACK, no addon) and on the pure-JS cpu backend, within float
 * tolerance. NAS_NATIVE=off rules the addon out. The comparisons that need the addon are skipped where it is not
 * built (the plain routes are then all there is, and the curve test still compares wasm with cpu).
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { fusedActivation, fusedAttention, fusedLayerNorm, fusedLinear, fusedRmsNorm, fusedTokenNll } from "../../src/models/fused-ops.js";
import { gelu } from "../../src/models/transformer/index.js";
import { loadNativeBlas } from "../../src/models/native-blas.js";
import { fusedKernels, useFusedKernels } from "../../src/models/native-kernels.js";
import { AdamW, trainLoop } from "../../src/models/training/index.js";
import { TransformerLM } from "../../src/models/transformer/index.js";
import { useNativeBlas } from "../../src/models/wasm-kernels.js";
import { Rng } from "../../src/core/rng.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

const native = loadNativeBlas();
const fused = native.blas?.kernels ? native.blas : null;

beforeAll(async () => {
  await useWasm();
  await import("@tensorflow/tfjs-backend-cpu");
});
afterEach(async () => {
  await tf.setBackend("wasm");
  useNativeBlas(native.blas);
});

function random(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.next() * 2 - 1), shape);
}

function expectClose(a: tf.Tensor, b: tf.Tensor, tol = 1e-4): void {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1 + Math.abs(y[i]!)));
  expect(worst).toBeLessThan(tol);
}

/** Plain-tfjs multi-head attention on [B·T, d] activations: split heads, scores, bias, softmax, merge. */
function plainAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, bias: tf.Tensor, B: number, H: number): tf.Tensor2D {
  const [rows, d] = q.shape;
  const T = rows / B;
  const hd = d / H;
  const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, T, H, hd]), [0, 2, 1, 3]); // [B, H, T, hd]
  const s = tf.mul(tf.matMul(split(q), split(k), false, true), 1 / Math.sqrt(hd)); // [B, H, T, T]
  const p = tf.softmax(tf.add(s, bias.rank === 2 ? bias : tf.reshape(bias, [1, H, T, T])));
  return tf.reshape(tf.transpose(tf.matMul(p, split(v)), [0, 2, 1, 3]), [rows, d]) as tf.Tensor2D;
}

function causal(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}

describe.skipIf(!fused)("fused kernels against the plain ops (wasm with the native addon)", () => {
  it("linear layer: x·W + b and its gradients dx, dW, db", () => {
    useNativeBlas(fused);
    expect(fusedKernels()).not.toBeNull();
    const [x, w, b, dy] = [random([10, 7], 1), random([7, 5], 2), random([5], 3), random([10, 5], 4)];
    const fusedF = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.mul(fusedLinear(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), dy);
    const plainF = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) => tf.mul(tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi), dy);
    expectClose(fusedLinear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b));
    const gf = tf.grads(fusedF)([x, w, b]);
    const gp = tf.grads(plainF)([x, w, b]);
    gf.forEach((g, i) => expectClose(g, gp[i]!));
  });

  it("attention with a causal mask, and with a per-head bias (ALiBi's shape): values and dq, dk, dv", () => {
    useNativeBlas(fused);
    const B = 2, T = 6, H = 2, d = 8;
    const [q, k, v, dy] = [random([B * T, d], 5), random([B * T, d], 6), random([B * T, d], 7), random([B * T, d], 8)] as tf.Tensor2D[];
    const perHead = tf.add(causal(T), tf.mul(random([H, T, T], 9), 0.5));
    for (const bias of [causal(T), perHead]) {
      const opts = { batch: B, heads: H, scale: 1 / Math.sqrt(d / H) };
      expectClose(fusedAttention(q!, k!, v!, bias, opts), plainAttention(q!, k!, v!, bias, B, H));
      const gf = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.mul(fusedAttention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, bias, opts), dy!))([q!, k!, v!]);
      const gp = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.mul(plainAttention(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, bias, B, H), dy!))([q!, k!, v!]);
      gf.forEach((g, i) => expectClose(g, gp[i]!));
    }
  });

  it("LayerNorm and RMSNorm: values and dx, dγ (and dβ)", () => {
    useNativeBlas(fused);
    const [x, gamma, beta, dy] = [tf.add(tf.mul(random([9, 12], 40), 3), 1), random([12], 41), random([12], 42), random([9, 12], 43)];
    const ln = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    const rms = (a: tf.Tensor, g: tf.Tensor) => tf.mul(tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), 1e-5))), g);
    expectClose(fusedLayerNorm(x as tf.Tensor2D, gamma!, beta!), ln(x!, gamma!, beta!));
    expectClose(fusedRmsNorm(x as tf.Tensor2D, gamma!), rms(x!, gamma!));
    const gf = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.mul(fusedLayerNorm(a as tf.Tensor2D, g, b), dy!))([x!, gamma!, beta!]);
    const gp = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.mul(ln(a, g, b), dy!))([x!, gamma!, beta!]);
    gf.forEach((g, i) => expectClose(g, gp[i]!, 2e-4));
    const rf = tf.grads((a: tf.Tensor, g: tf.Tensor) => tf.mul(fusedRmsNorm(a as tf.Tensor2D, g), dy!))([x!, gamma!]);
    const rp = tf.grads((a: tf.Tensor, g: tf.Tensor) => tf.mul(rms(a, g), dy!))([x!, gamma!]);
    rf.forEach((g, i) => expectClose(g, rp[i]!, 2e-4));
  });

  it("GELU (tanh form) and swish: values and dx, over the range where the sigmoid saturates too", () => {
    useNativeBlas(fused);
    const [x, dy] = [tf.mul(random([64, 33], 60), 12), random([64, 33], 61)] as tf.Tensor2D[];
    const plain = { gelu: (a: tf.Tensor) => gelu(a as tf.Tensor2D), swish: (a: tf.Tensor) => tf.mul(a, tf.sigmoid(a)) };
    for (const kind of ["gelu", "swish"] as const) {
      expectClose(fusedActivation(kind, x!), plain[kind](x!) as tf.Tensor2D, 5e-6);
      const gf = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fusedActivation(kind, a as tf.Tensor2D), dy!)))(x!);
      const gp = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(plain[kind](a), dy!)))(x!);
      expectClose(gf, gp, 5e-6);
      // A diverged activation stays NaN (the kernel's loops assume finite values and pass NaN through explicitly).
      const odd = fusedActivation(kind, tf.tensor2d([[NaN, Infinity, -Infinity, 0]])).dataSync();
      expect(Number.isNaN(odd[0]), kind).toBe(true);
      expect([odd[1], odd[3]], kind).toEqual([Infinity, 0]);
    }
  });

  it("token cross-entropy: −log softmax(logits)[target] and its gradient, large logits and a target outside the vocabulary included", () => {
    useNativeBlas(fused);
    const [rows, V] = [23, 37];
    const logits = tf.mul(random([rows, V], 70), 30) as tf.Tensor2D;
    const rng = new Rng(71);
    const ids = Int32Array.from({ length: rows }, (_, i) => (i === 5 ? V + 3 : Math.floor(rng.next() * V)));
    const targets = tf.tensor1d(ids, "int32");
    const dy = random([rows], 72);
    const plain = (x: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.cast(tf.oneHot(targets, V), "float32"), tf.logSoftmax(x as tf.Tensor2D)), -1));
    expectClose(fusedTokenNll(logits, targets), plain(logits), 1e-5);
    expect(fusedTokenNll(logits, targets).dataSync()[5]).toBe(0); // outside the vocabulary: no loss, as a zero one-hot row gives
    const gf = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fusedTokenNll(x as tf.Tensor2D, targets), dy)))(logits);
    const gp = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(plain(x), dy)))(logits);
    expectClose(gf, gp, 1e-5);
  });

  it("AdamW: one native call gives the host loops' update and clipped norm, step after step", () => {
    useNativeBlas(fused);
    const make = () => [tf.variable(random([6, 4], 10)), tf.variable(random([4], 11))];
    const [a, b] = [make(), make()];
    const nativeOpt = new AdamW(a, { weightDecay: 0.1 });
    const hostOpt = new AdamW(b, { weightDecay: 0.1, native: false });
    expect(nativeOpt.native).toBe(true);
    expect(hostOpt.native).toBe(false);
    for (let step = 0; step < 3; step++) {
      const grads = [random([6, 4], 20 + step), random([4], 30 + step)];
      const norm = nativeOpt.stepFused(grads, 1e-2, 1.0);
      const arrays = grads.map((g) => g.dataSync() as Float32Array);
      const hostNorm = Math.sqrt(arrays.reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
      expect(norm).toBeCloseTo(hostNorm, 5);
      const scale = hostNorm > 1 ? 1 / (hostNorm + 1e-6) : 1;
      hostOpt.stepHost(arrays.map((g) => g.map((x) => x * scale)), 1e-2);
      a.forEach((v, i) => expectClose(v, b[i]!, 1e-6));
    }
    expect(nativeOpt.stepCount).toBe(3);
  });
});

describe("wasm Concat and SplitV by rows (wasm-kernels.ts) against the cpu backend", () => {
  it("every axis, uneven parts, int32 too, and gradients through split → concat", async () => {
    const cases: Array<{ shapes: number[][]; axis: number }> = [
      { shapes: [[5, 1], [5, 1]], axis: 1 },
      { shapes: [[3, 2, 40], [3, 1, 40], [3, 4, 40]], axis: 1 },
      { shapes: [[2, 3], [4, 3]], axis: 0 },
      { shapes: [[2, 3, 2], [2, 3, 5]], axis: -1 },
      { shapes: [[4, 0], [4, 3]], axis: 1 },
    ];
    const run = () =>
      cases.map(({ shapes, axis }, c) => {
        const parts = shapes.map((sh, i) => random(sh, 100 + 10 * c + i));
        const joined = tf.concat(parts, axis);
        const sizes = shapes.map((sh) => sh.at(axis)!);
        const back = tf.split(joined, sizes, axis);
        const ints = tf.concat(parts.map((p) => tf.cast(tf.mul(p, 100), "int32")), axis);
        return { joined: [...joined.dataSync()], shape: joined.shape, back: back.map((t) => [...t.dataSync()]), ints: [...ints.dataSync()] };
      });
    const onWasm = run();
    const swapped = (a: tf.Tensor) => {
      const [p, q] = tf.split(a, [1, 2], 1);
      return tf.sum(tf.mul(tf.concat([q!, p!], 1), tf.tensor2d([[1, 2, 3]])));
    };
    const grad = tf.grad(swapped)(random([4, 3], 9));
    expect([...grad.dataSync()]).toEqual([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2]); // a0 lands in column 2 (×3), a1, a2 in 0, 1
    await tf.setBackend("cpu");
    expect(onWasm).toEqual(run());
  });

  it("GatherV2 by runs: columns, rows, a middle axis, repeated indices, int32 data, against the cpu backend", async () => {
    const run = () => {
      const x = random([4, 3, 5], 50);
      const picks: Array<[number[], number]> = [[[2, 0, 1, 1], 0], [[1, 0, 2], 1], [[4, 0, 3], 2], [[4, 3, 2, 1, 0], -1]];
      const out = picks.map(([idx, axis]) => [...tf.gather(x, tf.tensor1d(idx, "int32"), axis).dataSync()]);
      out.push([...tf.gather(tf.cast(tf.mul(x, 100), "int32"), tf.tensor1d([2, 2], "int32"), 1).dataSync()]);
      return out;
    };
    const onWasm = run();
    await tf.setBackend("cpu");
    expect(onWasm).toEqual(run());
  });
});

describe("the same seed gives the same curve on every route", () => {
  const trainCurve = async (steps = 12, norm: "pre_ln" | "rmsnorm" = "pre_ln"): Promise<number[]> => {
    const arch = tinyArch({ n_layers: 2, d_model: 32, n_heads: 4, ff_mult: 2, norm }, { attention: "full", activation: "gelu" });
    const model = new TransformerLM(arch, { vocabSize: 20, contextLength: 12 }, 7);
    const rng = new Rng(5);
    const ids = () => Int32Array.from({ length: 4 * 12 }, () => Math.floor(rng.next() * 20));
    const inputs = tf.tensor2d(ids(), [4, 12], "int32");
    const targets = tf.tensor2d(ids(), [4, 12], "int32");
    const losses: number[] = [];
    await trainLoop({
      variables: model.trainableVariables(),
      steps,
      learningRate: () => 3e-3,
      optimizer: { weightDecay: 0.1 },
      clipNorm: 1,
      logEvery: 1,
      loss: () => model.loss(inputs, targets),
      onProgress: (p) => void (p.values.train_loss !== undefined && losses.push(p.values.train_loss)),
    });
    tf.dispose([inputs, targets]);
    model.dispose();
    return losses;
  };
  const expectSameCurve = (a: number[], b: number[], tol: number) => {
    expect(a.length).toBe(b.length);
    a.forEach((x, i) => expect(Math.abs(x - b[i]!), `step ${i + 1}: ${x} vs ${b[i]}`).toBeLessThan(tol));
  };

  it("fused native kernels (when built), plain wasm and the cpu backend", async () => {
    useNativeBlas(null);
    expect(fusedKernels()).toBeNull();
    const wasm = await trainCurve();
    expect(wasm[wasm.length - 1]!).toBeLessThan(wasm[0]!); // it learns
    await tf.setBackend("cpu");
    const cpu = await trainCurve();
    expectSameCurve(cpu, wasm, 2e-3);
    await tf.setBackend("wasm");
    if (fused) {
      useNativeBlas(fused);
      expect(fusedKernels()).not.toBeNull();
      expectSameCurve(await trainCurve(), wasm, 2e-3);
      const rmsFused = await trainCurve(12, "rmsnorm");
      useNativeBlas(null);
      expectSameCurve(rmsFused, await trainCurve(12, "rmsnorm"), 2e-3);
    }
  }, 120_000);

  it("NAS_NATIVE=off: the addon is not loaded and the fused ops stay off", () => {
    const before = process.env.NAS_NATIVE;
    process.env.NAS_NATIVE = "off";
    try {
      expect(loadNativeBlas()).toEqual({ blas: null, reason: "NAS_NATIVE=off" });
      useFusedKernels(fused?.kernels ?? null);
      expect(fusedKernels()).toBeNull();
    } finally {
      if (before === undefined) delete process.env.NAS_NATIVE;
      else process.env.NAS_NATIVE = before;
    }
  });
});
