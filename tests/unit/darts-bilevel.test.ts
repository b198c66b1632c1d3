/** DARTS bi-level optimisation: the second-order α gradient, its reduction to first order at ξ = 0, and the update order. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { BilevelOptimizer, TransformerSupernet, type IterationLosses } from "../../src/models/supernet/index.js";
import { Rng } from "../../src/core/rng.js";
import { RecallTask } from "../../src/tasks/recall.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const task = new RecallTask({ keys: 8, values: 8, pairs: 4 });
const T = 12;

function supernet(seed = 7): TransformerSupernet {
  return new TransformerSupernet(tinyArch({ n_layers: 1, d_model: 16 }), { vocabSize: task.vocabSize, contextLength: T }, seed, {
    attention: ["full", "local", "none"],
    activation: ["relu", "gelu"],
    window: 4,
  });
}

function losses(net: TransformerSupernet, seed: number): { losses: IterationLosses; dispose(): void } {
  const rng = new Rng(seed);
  const tensors = [task.trainBatch(rng, 4, T), task.trainBatch(rng, 4, T)].map((b) => ({
    inputs: tf.tensor2d(b.inputs, [4, T], "int32"),
    targets: tf.tensor2d(b.targets, [4, T], "int32"),
    weights: tf.tensor2d(b.weights!, [4, T]),
  }));
  const [train, val] = tensors as [(typeof tensors)[0], (typeof tensors)[0]];
  return {
    losses: {
      train: () => net.loss(train.inputs, train.targets, { weights: train.weights }),
      val: () => net.loss(val.inputs, val.targets, { weights: val.weights }),
    },
    dispose: () => tf.dispose(tensors.flatMap((t) => [t.inputs, t.targets, t.weights])),
  };
}

const weightsOf = (net: TransformerSupernet) => net.weightVariables().map((v) => Array.from(v.dataSync()));

describe("bi-level optimisation", () => {
  it("second order with ξ = 0 gives the first-order α gradient and update, and leaves the weights untouched", () => {
    const a = supernet();
    const b = supernet();
    const common = { weightLearningRate: () => 1e-2, alphaLearningRate: 0.1, alphaWeightDecay: 1e-3 };
    const first = new BilevelOptimizer(a.weightVariables(), a.alphaVariables(), { ...common, order: 1 });
    const second = new BilevelOptimizer(b.weightVariables(), b.alphaVariables(), { ...common, order: 2, unrolledLearningRate: () => 0 });
    const la = losses(a, 1);
    const lb = losses(b, 1);
    const before = weightsOf(b);
    const g1 = first.alphaStep(la.losses, 0);
    const g2 = second.alphaStep(lb.losses, 0);
    expect(g2.valLoss).toBeCloseTo(g1.valLoss, 6);
    g1.grads.forEach((g, k) => g.forEach((x, j) => expect(g2.grads[k]![j]!).toBeCloseTo(x, 6)));
    expect(g1.grads.flatMap((g) => Array.from(g)).some((x) => Math.abs(x) > 1e-6)).toBe(true);
    expect(weightsOf(b)).toEqual(before); // the virtual step and the finite differences are undone exactly
    const pa = Object.values(a.alphaState()).flat();
    const pb = Object.values(b.alphaState()).flat();
    pa.forEach((x, i) => expect(pb[i]!).toBeCloseTo(x, 6));
    expect(pa.some((x) => x !== 0)).toBe(true);
    [la, lb].forEach((l) => l.dispose());
    [first, second].forEach((o) => o.dispose());
    [a, b].forEach((n) => n.dispose());
  });

  it("second order with ξ > 0 adds the finite-difference Hessian–vector term: ∇α L_val(w′) − ξ·(∇α L_train(w⁺) − ∇α L_train(w⁻))/2ε", () => {
    const net = supernet(3);
    const opt = new BilevelOptimizer(net.weightVariables(), net.alphaVariables(), { order: 2, weightLearningRate: () => 0.5, alphaLearningRate: 0.1, alphaWeightDecay: 0 });
    const l = losses(net, 2);
    const xi = 0.5;
    const second = opt.secondOrderGradient(l.losses, xi);

    // The same quantity assembled by hand from the definitions.
    const ws = net.weightVariables();
    const alphas = net.alphaVariables();
    const saved = ws.map((w) => tf.clone(w));
    const gradsAt = (f: () => tf.Scalar, vars: tf.Variable[]) => {
      const { value, grads } = tf.variableGrads(f, vars);
      const out = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const gTrain = gradsAt(l.losses.train, ws);
    ws.forEach((w, i) => w.assign(tf.tidy(() => tf.sub(saved[i]!, tf.mul(tf.tensor(gTrain[i]!, w.shape), xi)))));
    const gVal = gradsAt(l.losses.val, [...alphas, ...ws]);
    const dAlpha = gVal.slice(0, alphas.length);
    const v = gVal.slice(alphas.length);
    const eps = 0.01 / Math.sqrt(v.reduce((s, g) => s + g.reduce((t, x) => t + x * x, 0), 0));
    const at = (sign: number) => {
      ws.forEach((w, i) => w.assign(tf.tidy(() => tf.add(saved[i]!, tf.mul(tf.tensor(v[i]!, w.shape), sign * eps)))));
      return gradsAt(l.losses.train, alphas);
    };
    const plus = at(1);
    const minus = at(-1);
    ws.forEach((w, i) => w.assign(saved[i]!));
    tf.dispose(saved);
    dAlpha.forEach((d, k) => d.forEach((x, j) => expect(second.grads[k]![j]!).toBeCloseTo(x - (xi * (plus[k]![j]! - minus[k]![j]!)) / (2 * eps), 4)));
    // ... and differs from the first-order gradient at w.
    const first = opt.firstOrderGradient(l.losses.val);
    const diff = first.grads.flatMap((g, k) => Array.from(g).map((x, j) => Math.abs(x - second.grads[k]![j]!)));
    expect(Math.max(...diff)).toBeGreaterThan(1e-6);
    l.dispose();
    opt.dispose();
    net.dispose();
  });

  it("second order approximates the true gradient of α ↦ L_val(w − ξ∇w L_train(w, α), α) (central differences in α)", () => {
    const net = supernet(11);
    const xi = 1;
    const opt = new BilevelOptimizer(net.weightVariables(), net.alphaVariables(), { order: 2, weightLearningRate: () => xi, alphaLearningRate: 0.1, alphaWeightDecay: 0 });
    const l = losses(net, 6);
    const second = opt.secondOrderGradient(l.losses, xi).grads;
    const first = opt.firstOrderGradient(l.losses.val).grads;
    const ws = net.weightVariables();
    const saved = ws.map((w) => tf.clone(w));
    const unrolledVal = (): number => {
      const { value, grads } = tf.variableGrads(l.losses.train, ws);
      ws.forEach((w, i) => w.assign(tf.tidy(() => tf.sub(saved[i]!, tf.mul(grads[w.name]!, xi)))));
      tf.dispose([value, ...Object.values(grads)]);
      const out = tf.tidy(() => l.losses.val().dataSync()[0]!);
      ws.forEach((w, i) => w.assign(saved[i]!));
      return out;
    };
    const state = net.alphaState();
    const h = 1e-2;
    let errSecond = 0;
    let errFirst = 0;
    for (const [path, values] of Object.entries(state)) {
      const k = Object.keys(state).indexOf(path);
      values.forEach((_, j) => {
        const shifted = (d: number) => ({ ...state, [path]: values.map((x, i) => (i === j ? x + d : x)) });
        net.setAlphaState(shifted(h));
        const up = unrolledVal();
        net.setAlphaState(shifted(-h));
        const down = unrolledVal();
        net.setAlphaState(state);
        const numeric = (up - down) / (2 * h);
        errSecond = Math.max(errSecond, Math.abs(second[k]![j]! - numeric));
        errFirst = Math.max(errFirst, Math.abs(first[k]![j]! - numeric));
      });
    }
    tf.dispose(saved);
    // Measured here: 5e-4 against 1.3e-2 for the first-order gradient.
    expect(errSecond).toBeLessThan(errFirst / 5);
    expect(errSecond).toBeLessThan(2e-3);
    l.dispose();
    opt.dispose();
    net.dispose();
  });

  it("a weight step changes the weights and not α; an α step changes α and not the weights", () => {
    const net = supernet(5);
    const opt = new BilevelOptimizer(net.weightVariables(), net.alphaVariables(), { order: 1, weightLearningRate: () => 1e-2, alphaLearningRate: 0.1, alphaWeightDecay: 1e-3 });
    const l = losses(net, 4);
    const w0 = weightsOf(net);
    const a0 = net.alphaState();
    opt.alphaStep(l.losses, 0);
    expect(weightsOf(net)).toEqual(w0);
    expect(net.alphaState()).not.toEqual(a0);
    const a1 = net.alphaState();
    const before = tf.memory().numTensors;
    opt.weightStep(l.losses.train, 0);
    expect(net.alphaState()).toEqual(a1);
    expect(weightsOf(net)).not.toEqual(w0);
    opt.alphaStep(l.losses, 1);
    expect(tf.memory().numTensors).toBe(before); // nothing leaks
    l.dispose();
    opt.dispose();
    net.dispose();
  });
});
