/**
 * Training flows: a trained 2-D density integrates to 1; a NICE flow leaves the Gaussian fit on symmetric data;
 * runFlowTrial's metrics, curve, pictures and errors.
 */
import * as tf from "@tensorflow/tfjs-core";
import { PNG } from "pngjs";
import { beforeAll, describe, expect, it } from "vitest";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type ProgressPoint } from "../../src/evaluators/evaluator.js";
import { flowTrainConfigSchema } from "../../src/catalogue/tasks.js";
import { logProbs, runFlowTrial } from "../../src/evaluators/train-flow.js";
import { backendLabel } from "../../src/models/backend.js";
import { buildFlow, type CompositeTransform } from "../../src/models/flows/index.js";
import { trainLoop } from "../../src/models/training/index.js";
import { Rng } from "../../src/core/rng.js";
import { densityDataset, trueEntropy } from "../../src/tasks/densities.js";
import { gridPoints, labelBand } from "../../src/tasks/plots.js";
import { maxAbsDiff, randomPoints, useWasm } from "./flows-helpers.js";

beforeAll(useWasm);

const small = { steps: 4, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: true, hidden_width: 32, hidden_depth: 2, activation: "relu", base: "standard_normal" };

function request(config: unknown, architecture: Record<string, unknown> = small, metric = "gap_nats"): EvaluationRequest {
  return { trialId: "t1", searchId: "s1", attempt: 1, space: null as never, architecture: architecture as never, config: flowTrainConfigSchema.parse(config), objective: { metric, direction: "minimize" }, seed: 42 };
}

function context(stopAfter = Infinity): EvaluationContext & { points: ProgressPoint[] } {
  const points: ProgressPoint[] = [];
  return { points, reportProgress: (p) => void points.push(p), shouldStop: () => points.length >= stopAfter, log: () => {} };
}

describe("a trained 2-D flow", () => {
  it("has a density that integrates to 1 ± 0.02 over a grid covering the data", async () => {
    const data = densityDataset("two-moons");
    const flow = buildFlow(small, { dim: 2 }, 3);
    const rng = new Rng(1);
    tf.tidy(() => flow.initialize(tf.tensor2d(data.train.subarray(0, 2000), [1000, 2])));
    const res = await trainLoop({
      variables: flow.variables(),
      steps: 150,
      learningRate: () => 1e-2,
      loss: () => {
        const rows = Array.from({ length: 256 }, () => rng.int(data.train.length / 2));
        const x = tf.tensor2d(rows.flatMap((r) => [data.train[2 * r]!, data.train[2 * r + 1]!]), [256, 2]);
        return tf.neg(tf.mean(flow.logProb(x))) as tf.Scalar;
      },
    });
    expect(res.lastTrainLoss).toBeLessThan(3.5); // it learned something (N(0,1) on this data: ≈ 4)
    const extent = 8;
    const size = 320;
    const lp = logProbs(flow, gridPoints(extent, size), 2);
    const cell = ((2 * extent) / size) ** 2;
    const mass = lp.reduce((s, v) => s + Math.exp(v) * cell, 0);
    expect(mass).toBeGreaterThan(0.98);
    expect(mass).toBeLessThan(1.02);
    flow.dispose();
  });
});

describe("a NICE (additive) flow", () => {
  // 8 steps: with 4, whether NICE leaves the Gaussian fit within 400 steps depends on the initial draw (2 of 4
  // seeds did); with 8 it did for seeds 1–4 (NLL 3.40–3.68), and from a zero last layer it stays at 4.26 for seed 3.
  const nice = { steps: 8, coupling: "additive", permutation: "reverse", actnorm: false, hidden_width: 32, hidden_depth: 2, activation: "relu", base: "standard_normal" };

  it("starts near identity and ends with NICE's scaling layer", () => {
    const flow = buildFlow(nice, { dim: 2 }, 1);
    const names = (flow.transform as CompositeTransform).transforms.map((t) => t.name);
    expect(names.at(-1)).toBe("diagonal-scaling");
    const x = randomPoints(64, 2, 5, 2);
    const y = tf.tidy(() => flow.transform.forward(x).output);
    expect(maxAbsDiff(y, x)).toBeLessThan(0.5); // shifts ≪ the data's scale (2)
    tf.dispose([x, y]);
    flow.dispose();
  });

  it("learns 8gaussians clearly beyond the Gaussian fit (symmetric data, where zero-initialised shifts never move)", async () => {
    const data = densityDataset("8gaussians");
    // NLL of the best diagonal Gaussian (moments of the training split) on the validation split.
    const n = data.train.length / 2;
    const mean = [0, 1].map((d) => data.train.reduce((s, v, i) => (i % 2 === d ? s + v : s), 0) / n);
    const variance = [0, 1].map((d) => data.train.reduce((s, v, i) => (i % 2 === d ? s + (v - mean[d]!) ** 2 : s), 0) / n);
    let gaussianNll = 0;
    for (let i = 0; i < data.val.length; i++) gaussianNll += 0.5 * Math.log(2 * Math.PI * variance[i % 2]!) + (data.val[i]! - mean[i % 2]!) ** 2 / (2 * variance[i % 2]!);
    gaussianNll /= data.val.length / 2;

    const flow = buildFlow(nice, { dim: 2 }, 3);
    const rng = new Rng(1);
    await trainLoop({
      variables: flow.variables(),
      steps: 400,
      learningRate: () => 1e-2,
      clipNorm: 10,
      loss: () => {
        const rows = Array.from({ length: 256 }, () => rng.int(n));
        const x = tf.tensor2d(rows.flatMap((r) => [data.train[2 * r]!, data.train[2 * r + 1]!]), [256, 2]);
        return tf.neg(tf.mean(flow.logProb(x))) as tf.Scalar;
      },
    });
    const nll = -logProbs(flow, data.val, 2).reduce((s, v) => s + v, 0) / (data.val.length / 2);
    expect(gaussianNll - trueEntropy("8gaussians")!).toBeGreaterThan(1.3); // the Gaussian fit's gap (≈ 1.42 nats)
    expect(nll).toBeLessThan(gaussianNll - 0.3); // from a zero last layer it ends at the Gaussian fit (4.26)
    flow.dispose();
  });
});

describe("runFlowTrial", () => {
  it("trains on a 2-D task and returns gap, NLL, params, timings, backend, a curve and density.png", async () => {
    const ctx = context();
    const before = tf.memory().numTensors;
    const r = await runFlowTrial(request({ task: "8gaussians", budget: { steps: 40 }, samples: 500 }), ctx);
    expect(tf.memory().numTensors).toBe(before);
    const m = r.metrics;
    for (const k of ["gap_nats", "test_nll", "params", "training_time_s", "sampling_time_s"]) expect(Number.isFinite(m[k] as number), k).toBe(true);
    expect(m.backend).toBe(backendLabel());
    expect(m.gap_nats).toBeCloseTo((m.test_nll as number) - (m.true_entropy as number), 10);
    expect(ctx.points.some((p) => "train_loss" in p.values)).toBe(true);
    expect(ctx.points.some((p) => "val_nll" in p.values)).toBe(true);
    const png = r.artifacts!.find((a) => a.name === "density.png")!;
    expect(png.contentType).toBe("image/png");
    expect(PNG.sync.read(png.data).height).toBe(128 + labelBand(1)); // 128-pixel panels under their labels
    expect(r.artifacts!.map((a) => a.name)).toContain("samples.png");
  });

  it("trains on 14×14 MNIST and reports data-space bits/dim and samples.png", async () => {
    const arch = { steps: 2, coupling: "additive", mask: "checkerboard", permutation: "none", actnorm: true, hidden_width: 64, hidden_depth: 1, activation: "relu", base: "diagonal_gaussian" };
    const r = await runFlowTrial(request({ task: "mnist", budget: { steps: 5 }, batchSize: 32 }, arch, "bits_per_dim"), context());
    const bpd = r.metrics.bits_per_dim as number;
    expect(bpd).toBeGreaterThan(0.5);
    expect(bpd).toBeLessThan(12);
    expect(bpd).toBeCloseTo((r.metrics.test_nll as number) / (196 * Math.LN2), 8);
    // The picture, and the trained flow's files (kept as the trial's weights by the trainer: src/models/artifact/).
    expect(r.artifacts!.map((a) => a.name)).toEqual(["samples.png", "model.json", "weights.bin"]);
    expect(JSON.parse(r.artifacts![1]!.data.toString())).toMatchObject({ family: "flow", input: { dim: 196, image: { height: 14, width: 14 } }, normalisation: { kind: "logit", alpha: 0.05, levels: 256 } });
  });

  it("stops between steps when asked (TrialStopped)", async () => {
    await expect(runFlowTrial(request({ task: "8gaussians", budget: { steps: 500 } }), context(2))).rejects.toBeInstanceOf(TrialStopped);
  });

  it("fails malformed architectures and unavailable objectives with TrialError", async () => {
    await expect(runFlowTrial(request({ task: "8gaussians", budget: { steps: 2 } }, { steps: 2, coupling: "glow" }), context())).rejects.toBeInstanceOf(TrialError);
    await expect(runFlowTrial(request({ task: "pinwheel", budget: { steps: 2 } }, small, "gap_nats"), context())).rejects.toBeInstanceOf(TrialError);
  });
});
