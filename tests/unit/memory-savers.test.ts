/**
 * Memory savers on the wasm backend: gradient accumulation (the same update as the whole batch), activation
 * recomputation (the same gradients, less memory kept), and the trainer's memory plan (micro-batches or
 * recomputation chosen by itself under TRAIN_MEMORY_LIMIT_MB, recorded in the metrics; a clear TrialError when
 * nothing fits).
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { TrialError, type EvaluationContext, type EvaluationRequest } from "../../src/evaluators/evaluator.js";
import { runTransformerTrial } from "../../src/evaluators/train-transformer.js";
import { AdamW, trainStep } from "../../src/models/training/index.js";
import { TransformerLM } from "../../src/models/transformer/index.js";
import { DoesNotFitInMemory, estimateTrainingMemory, planTrainingMemory } from "../../src/models/transformer/memory.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const dims = { vocabSize: 9, contextLength: 8 };
const [B, T] = [4, 8];

function batch(seed: number): { inputs: number[]; targets: number[] } {
  const rng = new Rng(seed);
  const inputs = Array.from({ length: B * T }, () => rng.int(dims.vocabSize));
  return { inputs, targets: inputs.map((x, i) => (x + i) % dims.vocabSize) };
}

/** Mean loss of sequences [from, from + count) of the batch. */
function partLoss(model: TransformerLM, b: { inputs: number[]; targets: number[] }, from: number, count: number, opts: { recompute?: boolean } = {}): tf.Scalar {
  const slice = (a: number[]) => tf.tensor2d(a.slice(from * T, (from + count) * T), [count, T], "int32");
  return model.loss(slice(b.inputs), slice(b.targets), { training: true, step: 3, ...opts });
}

describe("gradient accumulation", () => {
  it("parameters after one step with 2 and 4 micro-batches equal those of the whole batch", () => {
    const b = batch(1);
    const after = (microBatches: number) => {
      const model = new TransformerLM(tinyArch({ n_layers: 2 }), dims, 7);
      const optimizer = new AdamW(model.trainableVariables(), { weightDecay: 0.1 });
      const per = B / microBatches;
      const { loss } = trainStep(model.trainableVariables(), (i) => partLoss(model, b, i * per, per), optimizer, 1e-2, 1, microBatches);
      const values = model.trainableVariables().map((v) => Array.from(v.dataSync()));
      optimizer.dispose();
      model.dispose();
      return { loss, values };
    };
    const whole = after(1);
    for (const m of [2, 4]) {
      const split = after(m);
      expect(split.loss).toBeCloseTo(whole.loss, 5);
      let worst = 0;
      split.values.forEach((v, i) => v.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - whole.values[i]![j]!)))));
      // Adam's first step moves each weight by about lr = 1e-2; float rounding of the mean gradient leaves ≪ that.
      expect(worst).toBeLessThan(1e-5);
    }
  });
});

describe("activation recomputation", () => {
  const variants = {
    "dense with dropout": tinyArch({ n_layers: 2, dropout: 0.2, norm: "post_ln" }, { activation: "swiglu" }),
    "token-choice MoE with its auxiliary loss": tinyArch({ n_layers: 2, feed_forward: "moe-token-choice", experts: 4, top_k: 2, capacity_factor: 1.0 }),
    "expert-choice MoE": tinyArch({ n_layers: 2, feed_forward: "moe-expert-choice", experts: 4, capacity_factor: 1.25 }, { attention: "linear" }),
  };
  for (const [name, arch] of Object.entries(variants)) {
    it(`${name}: the same loss and gradients as without`, () => {
      const model = new TransformerLM(arch, dims, 3);
      const b = batch(2);
      const grads = (recompute: boolean) => {
        const { value, grads } = tf.variableGrads(() => partLoss(model, b, 0, B, { recompute }), model.trainableVariables());
        const out = { loss: value.dataSync()[0]!, grads: model.trainableVariables().map((v) => Array.from(grads[v.name]!.dataSync())) };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const plain = grads(false); // (creates the model's cached constants: masks, tables)
      const before = tf.memory().numTensors;
      const again = grads(true);
      expect(tf.memory().numTensors).toBe(before);
      expect(again.loss).toBeCloseTo(plain.loss, 6);
      let worst = 0;
      let largest = 0;
      again.grads.forEach((g, i) => g.forEach((x, j) => ((worst = Math.max(worst, Math.abs(x - plain.grads[i]![j]!))), (largest = Math.max(largest, Math.abs(x))))));
      expect(largest).toBeGreaterThan(1e-3);
      expect(worst).toBeLessThan(1e-6);
      model.dispose();
    });
  }

  it("keeps fewer bytes alive in the forward pass (tfjs's tape holds each op's saved tensors until the gradient)", () => {
    const arch = tinyArch({ n_layers: 4, d_model: 32, ff_mult: 4 });
    const model = new TransformerLM(arch, { vocabSize: 9, contextLength: 32 }, 1);
    const tokens = tf.tensor2d(Array.from({ length: 8 * 32 }, (_, i) => i % 9), [8, 32], "int32");
    const peak = (recompute: boolean) => {
      let high = 0;
      const base = tf.memory().numBytes;
      const { value, grads } = tf.variableGrads(() => {
        const loss = model.loss(tokens, tokens, { training: true, recompute });
        high = tf.memory().numBytes - base; // everything the forward pass kept for the backward pass
        return loss;
      }, model.trainableVariables());
      tf.dispose([value, ...Object.values(grads)]);
      return high;
    };
    const [plain, recomputed] = [peak(false), peak(true)];
    expect(recomputed).toBeLessThan(0.6 * plain);
    // The estimate orders the two the same way.
    const est = (recompute: boolean) => estimateTrainingMemory(arch, { vocabSize: 9, contextLength: 32 }, { batchSize: 8, microBatches: 1, recompute }).activationsMb;
    expect(est(true)).toBeLessThan(est(false));
    tokens.dispose();
    model.dispose();
  });
});

describe("the memory plan", () => {
  const arch = tinyArch({ n_layers: 4, d_model: 64, ff_mult: 4 });
  const lm = { vocabSize: 83, contextLength: 128 };

  it("keeps the config's plan under the limit, adds micro-batches above it, then recomputation, else refuses", () => {
    const full = estimateTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false }).totalMb;
    expect(planTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false, limitMb: 0 })).toMatchObject({ microBatches: 1, recompute: false, adjusted: false });
    expect(planTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false, limitMb: full + 1 })).toMatchObject({ microBatches: 1, adjusted: false });
    const half = planTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false, limitMb: full / 2 });
    expect(half).toMatchObject({ recompute: false, adjusted: true });
    expect(half.estimatedMb).toBeLessThanOrEqual(full / 2);
    // The fewest micro-batches that fit (the accumulated gradients cost a copy of the weights).
    expect(estimateTrainingMemory(arch, lm, { batchSize: 16, microBatches: half.microBatches / 2, recompute: false }).totalMb).toBeGreaterThan(full / 2);
    // Below what 16 micro-batches of one sequence need without recomputation, but not with it.
    const oneSeq = estimateTrainingMemory(arch, lm, { batchSize: 16, microBatches: 16, recompute: false }).totalMb;
    const withRecompute = planTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false, limitMb: oneSeq - 0.01 });
    expect(withRecompute.recompute).toBe(true);
    expect(withRecompute.adjusted).toBe(true);
    expect(() => planTrainingMemory(arch, lm, { batchSize: 16, microBatches: 1, recompute: false, limitMb: 0.5 })).toThrow(DoesNotFitInMemory);
  });

  const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));
  const request = (config: Record<string, unknown>): EvaluationRequest => ({
    trialId: "t1", searchId: "s1", attempt: 1, space, seed: 3, objective: { metric: "val_bpc", direction: "minimize" },
    architecture: { ...tinyArch({ n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 2 }), feed_forward: "moe-token-choice", experts: 4, top_k: 1, capacity_factor: 1.25 } as unknown as EvaluationRequest["architecture"],
    config: { budget: { steps: 3 }, batchSize: 16, contextLength: 64, evalSequences: 8, sampleLength: 0, ...config },
  });
  const logs: string[] = [];
  const ctx: EvaluationContext = { reportProgress: () => {}, shouldStop: () => false, log: (m: string) => void logs.push(m) } as EvaluationContext;
  const saved = process.env.TRAIN_MEMORY_LIMIT_MB;
  afterEach(() => {
    if (saved === undefined) delete process.env.TRAIN_MEMORY_LIMIT_MB;
    else process.env.TRAIN_MEMORY_LIMIT_MB = saved;
  });

  it("a trial over TRAIN_MEMORY_LIMIT_MB trains with micro-batches and says so in its metrics; MoE metrics are reported", async () => {
    const archOf = (r: EvaluationRequest) => r.architecture as unknown as Parameters<typeof estimateTrainingMemory>[0];
    const full = estimateTrainingMemory(archOf(request({})), { vocabSize: 83, contextLength: 64 }, { batchSize: 16, microBatches: 1, recompute: false }).totalMb;
    process.env.TRAIN_MEMORY_LIMIT_MB = String(Math.floor(full * 0.7));
    const r = await runTransformerTrial(request({}), ctx);
    expect(r.metrics).toMatchObject({ micro_batches: 2, recompute: false });
    expect(r.metrics.estimated_memory_mb).toBeLessThanOrEqual(full * 0.7);
    expect(logs.some((l) => /micro-batches/.test(l))).toBe(true);
    expect(r.metrics.active_params).toBeLessThan(r.metrics.params as number);
    const load = r.metrics.expert_load as number[];
    expect(load.length).toBe(4);
    expect(load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    expect(r.metrics.dropped_fraction).toBeGreaterThanOrEqual(0);
    expect(r.metrics.dropped_fraction).toBeLessThan(1);
    expect(Number.isFinite(r.metrics.val_bpc)).toBe(true);
  });

  it("a trial that fits no plan fails with a TrialError naming the limit", async () => {
    process.env.TRAIN_MEMORY_LIMIT_MB = "0.1"; // below the weights and optimizer state alone
    const err = await runTransformerTrial(request({}), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrialError);
    expect(String((err as Error).message)).toMatch(/TRAIN_MEMORY_LIMIT_MB = 0.1/);
    process.env.TRAIN_MEMORY_LIMIT_MB = "0";
    await expect(runTransformerTrial(request({ microBatches: 3 }), ctx)).rejects.toThrow(/not a multiple of microBatches/);
  });
});
