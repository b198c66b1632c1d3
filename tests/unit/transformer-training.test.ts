/** Training: overfitting one batch, no tensor leaks, reproducibility, the trial entry point and its errors. */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest } from "../../src/evaluators/evaluator.js";
import { runTransformerTrial } from "../../src/evaluators/train-transformer.js";
import { backendLabel } from "../../src/models/backend.js";
import { trainLoop, warmupCosine } from "../../src/models/training/index.js";
import { TransformerLM } from "../../src/models/transformer/index.js";
import { Rng } from "../../src/core/rng.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { charLMTask } from "../../src/tasks/charlm.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));

describe("training loop", () => {
  it("drives the loss on one fixed batch below 0.1 nats", async () => {
    const task = charLMTask();
    const batch = task.trainBatch(new Rng(1), 4, 24);
    const model = new TransformerLM(tinyArch({ n_layers: 2, d_model: 64, n_heads: 4, ff_mult: 2 }), { vocabSize: task.vocabSize, contextLength: 24 }, 1);
    const inputs = tf.tensor2d(batch.inputs, [4, 24], "int32");
    const targets = tf.tensor2d(batch.targets, [4, 24], "int32");
    let last = Infinity;
    const result = await trainLoop({
      variables: model.trainableVariables(),
      steps: 300,
      learningRate: warmupCosine({ peak: 1e-2, min: 1e-3, warmupSteps: 10, totalSteps: 300 }),
      optimizer: { weightDecay: 0 },
      logEvery: 10,
      loss: () => model.loss(inputs, targets),
      onProgress: (p) => void (last = p.values.train_loss ?? last),
      shouldStop: () => last < 0.03, // stop early once clearly there
    });
    const final = tf.tidy(() => model.loss(inputs, targets).dataSync()[0]!);
    expect(final).toBeLessThan(0.1);
    expect(result.curve[0]!.values.train_loss).toBeGreaterThan(3);
    tf.dispose([inputs, targets]);
    model.dispose();
  });

  it("leaks no tensors: the live count is the same after step 10 and step 200", async () => {
    const task = charLMTask();
    const model = new TransformerLM(
      tinyArch({ n_layers: 2, d_model: 16, n_heads: 2, positions: "rotary", dropout: 0.1 }, { attention: "strided", stride: 4, activation: "swiglu" }),
      { vocabSize: task.vocabSize, contextLength: 16 },
      2,
    );
    const rng = new Rng(3);
    const counts = new Map<number, number>();
    const buffers = new Map<number, number>(); // data buffers of the backend (wasm heap allocations)
    const evalSet = task.evalBatches(16, 4, 4);
    await trainLoop({
      variables: model.trainableVariables(),
      steps: 200,
      learningRate: () => 1e-3,
      logEvery: 10,
      evalEvery: 50,
      evaluate: () => ({ val_loss: tf.tidy(() => model.loss(tf.tensor2d(evalSet[0]!.inputs, [4, 16], "int32"), tf.tensor2d(evalSet[0]!.targets, [4, 16], "int32")).dataSync()[0]!) }),
      loss: (step) => {
        const b = task.trainBatch(rng, 4, 16);
        return model.loss(tf.tensor2d(b.inputs, [4, 16], "int32"), tf.tensor2d(b.targets, [4, 16], "int32"), { training: true, step });
      },
      onProgress: (p) => {
        if (p.values.train_loss !== undefined) {
          counts.set(p.step, tf.memory().numTensors);
          buffers.set(p.step, tf.engine().backend.numDataIds());
        }
      },
    });
    expect(counts.get(10)).toBeDefined();
    expect(counts.get(200)).toBe(counts.get(10));
    expect(buffers.get(200)).toBe(buffers.get(10));
    model.dispose();
  });
});

function request(architecture: unknown, config: Record<string, unknown>, seed = 5): EvaluationRequest {
  return { trialId: "t1", searchId: "s1", attempt: 1, space, architecture: architecture as EvaluationRequest["architecture"], config, objective: { metric: "val_bpc", direction: "minimize" }, seed };
}

function context(stopAfter = Infinity): EvaluationContext & { points: Array<{ step: number; values: Record<string, number> }> } {
  const points: Array<{ step: number; values: Record<string, number> }> = [];
  return { points, reportProgress: (p) => void points.push(p), shouldStop: () => points.length >= stopAfter, log: () => {} };
}

describe("runTransformerTrial", () => {
  const arch = {
    n_layers: 2,
    d_model: 32,
    n_heads: 2,
    ff_mult: 2,
    positions: "alibi",
    norm: "pre_ln",
    dropout: 0.1,
    layers: [
      { attention: "local", window: 8, activation: "gelu" },
      { attention: "linear", activation: "squared_relu" },
    ],
  };
  const small = { budget: { steps: 12 }, batchSize: 4, contextLength: 16, evalSequences: 8, evalEvery: 6, logEvery: 3, sampleLength: 20 };

  it("reports every metric, a learning curve and a sample; the same seed gives the same validation loss", async () => {
    expect(space.isValid(arch)).toBe(true);
    const before = tf.memory().numTensors;
    const ctx = context();
    const a = await runTransformerTrial(request(arch, small), ctx);
    const b = await runTransformerTrial(request(arch, small), context());
    for (const key of ["val_loss", "val_bpc", "params", "flops_per_token", "tokens_per_second", "wall_time_s", "train_loss"]) expect(typeof a.metrics[key]).toBe("number");
    expect(a.metrics.backend).toBe(backendLabel());
    expect(typeof a.metrics.sample).toBe("string");
    expect((a.metrics.sample as string).length).toBe(20);
    expect(a.metrics.val_bpc).toBeCloseTo((a.metrics.val_loss as number) / Math.LN2, 10);
    expect(b.metrics.val_loss).toBe(a.metrics.val_loss);
    expect(ctx.points.some((p) => p.values.train_loss !== undefined)).toBe(true);
    expect(ctx.points.filter((p) => p.values.val_loss !== undefined).map((p) => p.step)).toEqual([6, 12]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("scores associative recall with accuracy", async () => {
    const r = await runTransformerTrial(request(arch, { ...small, task: "assoc-recall", contextLength: 24, recall: { keys: 8, values: 8, pairs: 4 } }), context());
    expect(r.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.metrics.accuracy).toBeLessThanOrEqual(1);
  });

  it("throws TrialStopped when asked to stop, and TrialError for a malformed architecture", async () => {
    await expect(runTransformerTrial(request(arch, small), context(1))).rejects.toBeInstanceOf(TrialStopped);
    await expect(runTransformerTrial(request({ ...arch, n_heads: 3 }, small), context())).rejects.toBeInstanceOf(TrialError);
  });
});
