/**
 * DARTS over flows: the conditioner activation is mixed, the coupling transforms are not, so the supernet is an
 * exactly invertible flow with an exact log-determinant for every α; one-hot α is the plain flow of that activation.
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { TrialError } from "../../src/evaluators/evaluator.js";
import { runSupernetJob } from "../../src/evaluators/supernet.js";
import { buildFlow, type Activation } from "../../src/models/flows/index.js";
import { FlowSupernet } from "../../src/models/supernet/index.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/flow-2d.json", import.meta.url), "utf8")));
const base = { steps: 3, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: false, hidden_width: 16, hidden_depth: 2, base: "standard_normal" };
/** A deterministic perturbation of v's shape: f(0, 1, 2, …). */
const wave = (v: tf.Variable, f: (x: tf.Tensor) => tf.Tensor) => tf.reshape(f(tf.range(0, v.size)), v.shape);
const points = () => tf.tensor2d([0.5, -1, 2, 0.25, -1.5, 1, 0, 0, 3, -2], [5, 2]);

describe("FlowSupernet", () => {
  it("with one-hot α computes the log-density of the plain flow with that activation", () => {
    for (const coupling of ["affine", "additive", "maf"]) {
      const net = new FlowSupernet({ ...base, coupling }, { dim: 2 }, 9);
      expect(net.mixed.length).toBe(3 * 2); // steps × hidden layers
      const first: number[] = [];
      for (const activation of ["relu", "tanh", "elu", "swish"] as Activation[]) {
        // The supernet's weights are those of buildFlow with the same seed; the last layer starts at zero, so
        // perturb the weights the same way in both to make the activation matter.
        const plain = buildFlow({ ...base, coupling, activation }, { dim: 2 }, 9);
        [net.weightVariables(), plain.variables()].forEach((vars) => vars.forEach((v, i) => v.assign(tf.tidy(() => tf.add(v, tf.mul(wave(v, tf.sin), 0.3 + 0.01 * i))))));
        net.fixTo(activation);
        const x = points();
        const [a, b] = tf.tidy(() => [net.logProb(x).dataSync(), plain.logProb(x).dataSync()]);
        // Within float32 rounding of each other: the plain flow's couplings may run as one fused native kernel
        // (flows/fused-coupling.ts) while the supernet's mixed activations keep the plain ops.
        Array.from(a!).forEach((v, i) => expect(Math.abs(v - b![i]!) / (1 + Math.abs(b![i]!)), `${coupling}/${activation}: ${v} vs ${b![i]}`).toBeLessThan(2e-6));
        first.push(a![0]!);
        // restore: undo the perturbation of the supernet for the next activation
        net.weightVariables().forEach((v, i) => v.assign(tf.tidy(() => tf.sub(v, tf.mul(wave(v, tf.sin), 0.3 + 0.01 * i)))));
        tf.dispose(x);
        plain.dispose();
      }
      expect(new Set(first.map((v) => v.toFixed(4))).size, "the activation matters").toBe(4);
      net.dispose();
    }
  });

  it("is exactly invertible with an exact log-determinant for a mixed α, and gradients reach α and the weights", () => {
    const net = new FlowSupernet({ ...base, actnorm: true, permutation: "lu" }, { dim: 2 }, 3);
    net.setAlphaState({ activation: [0.3, -0.2, 0.5, 0.1] });
    net.weightVariables().forEach((v) => v.assign(tf.tidy(() => tf.add(v, tf.mul(wave(v, tf.cos), 0.2)))));
    const x = points();
    const [roundTrip, logDetSum] = tf.tidy(() => {
      const fwd = net.flow.transform.forward(x);
      const inv = net.flow.transform.inverse(fwd.output);
      return [inv.output.dataSync(), tf.add(fwd.logDet, inv.logDet).dataSync()];
    });
    const xs = x.dataSync();
    Array.from(roundTrip!).forEach((v, i) => expect(v).toBeCloseTo(xs[i]!, 4));
    Array.from(logDetSum!).forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-4));
    const vars = [...net.weightVariables(), ...net.alphaVariables()];
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(net.logProb(x))) as tf.Scalar, vars);
    const alphaGrad = grads[net.alpha.name]!;
    expect(tf.tidy(() => tf.norm(alphaGrad).dataSync()[0]!)).toBeGreaterThan(0);
    expect(net.weightVariables().every((v) => grads[v.name] !== undefined)).toBe(true);
    expect(net.weightVariables().some((v) => v.name === net.alpha.name)).toBe(false);
    tf.dispose([x, value, ...Object.values(grads)]);
    net.dispose();
  });
});

describe("runSupernetJob on flow-2d", () => {
  it("searches the conditioner activation and derives valid, distinct flows of the space", async () => {
    const alphas: number[] = [];
    const result = await runSupernetJob(
      { space, seed: 2, darts: { supernetSteps: 30, warmupSteps: 10, deriveTop: 2, alphaEvery: 10, baseArchitecture: { ...base, steps: 2 } }, train: { task: "two-moons", batchSize: 64 } },
      { reportProgress: () => {}, reportAlphas: (step) => void alphas.push(step), shouldStop: () => false, log: () => {} },
    );
    expect(alphas).toEqual([0, 10, 20, 30]);
    expect(Object.keys(result.alphas)).toEqual(["activation"]);
    expect(Object.keys(result.alphas.activation!).sort()).toEqual(["elu", "relu", "swish", "tanh"]);
    expect(result.derived).toHaveLength(3);
    for (const a of result.derived) {
      expect(space.validate(a)).toEqual([]);
      expect(a).toMatchObject({ ...base, steps: 2 });
    }
    expect(new Set(result.derived.map((a) => a.activation)).size).toBe(3);
    const winner = Object.entries(result.alphas.activation!).sort((a, b) => b[1] - a[1])[0]![0];
    expect(result.derived[0]!.activation).toBe(winner);
    expect(Number.isFinite(result.supernetValLoss)).toBe(true);
  });

  it("rejects tasks and bases it cannot search", async () => {
    const ctx = { reportProgress: () => {}, reportAlphas: () => {}, shouldStop: () => false, log: () => {} };
    await expect(runSupernetJob({ space, seed: 1, darts: {}, train: { task: "mnist" } }, ctx)).rejects.toThrow(TrialError);
    await expect(runSupernetJob({ space, seed: 1, darts: { baseArchitecture: { ...base, hidden_width: 20 } }, train: {} }, ctx)).rejects.toThrow(/hidden_width/);
    await expect(runSupernetJob({ space, seed: 1, darts: { activationCandidates: ["gelu"] }, train: {} }, ctx)).rejects.toThrow(/gelu/);
  });
});
