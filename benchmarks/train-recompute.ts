/**
 * Activation recomputation against plain backprop on one model (`bench:train --recompute` prints this report):
 * peak tensor memory of a training step and its time, with and without `recompute`, plus the trainer's estimate
 * (src/models/transformer/memory.ts) for the same step.
 *
 * Peak memory is the high-water mark of tfjs's live tensor bytes (`tf.memory().numBytes`), sampled after every
 * kernel of the step (forward, backward and update) by wrapping the engine's kernel dispatch for the measured
 * steps only; it includes the weights, gradients and optimizer moments, which recomputation does not change, so the
 * bytes above the weights are printed too. Model: nanoGPT's CPU "baby GPT" layout (4 layers, width 128, 4 heads,
 * context 64, GELU, pre-LN) and a deeper 8-layer variant, batch 12, on Moby-Dick.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/models/backend.js";
import { AdamW, trainStep } from "../src/models/training/index.js";
import { TransformerLM, type TransformerArchitecture } from "../src/models/transformer/index.js";
import { estimateTrainingMemory } from "../src/models/transformer/memory.js";
import { Rng } from "../src/core/rng.js";
import { charLMTask } from "../src/tasks/charlm.js";

/** The engine's kernel dispatch (not in tfjs's public typings). */
interface EngineInternals {
  runKernelFunc(params: unknown): unknown;
  state: { numBytes: number };
}

interface Measurement {
  peakMb: number;
  aboveWeightsMb: number;
  stepMs: number;
}

const MB = 1024 * 1024;

function measure(arch: TransformerArchitecture, recompute: boolean, steps: number): Measurement {
  const task = charLMTask();
  const [B, T] = [12, 64];
  const model = new TransformerLM(arch, { vocabSize: task.vocabSize, contextLength: T }, 1);
  const optimizer = new AdamW(model.trainableVariables(), { weightDecay: 0.1 });
  const rng = new Rng(3);
  const step = () => {
    const b = task.trainBatch(rng, B, T);
    trainStep(model.trainableVariables(), () => model.loss(tf.tensor2d(b.inputs, [B, T], "int32"), tf.tensor2d(b.targets, [B, T], "int32"), { training: true, recompute }), optimizer, 1e-3, 1);
  };
  step(); // warm-up: kernels compiled, constants cached, optimizer state allocated
  const resting = tf.memory().numBytes;
  const engine = tf.engine() as unknown as EngineInternals;
  const dispatch = engine.runKernelFunc;
  let high = 0;
  engine.runKernelFunc = function (this: EngineInternals, params: unknown) {
    const out = dispatch.call(this, params);
    high = Math.max(high, this.state.numBytes);
    return out;
  };
  const started = performance.now();
  try {
    for (let i = 0; i < steps; i++) step();
  } finally {
    engine.runKernelFunc = dispatch;
  }
  const stepMs = (performance.now() - started) / steps;
  optimizer.dispose();
  model.dispose();
  return { peakMb: high / MB, aboveWeightsMb: (high - resting) / MB, stepMs };
}

/**
 * The report `bench:train --recompute` prints: a markdown table, each model with and without recomputation; with
 * `json`, a last line `{"<model>": {"plain": {peakMb, aboveWeightsMb, stepMs}, "recompute": {…}}}`.
 */
export async function recomputeReport(opts: { steps?: number; json?: boolean } = {}): Promise<string> {
  await initBackend();
  const steps = opts.steps ?? 5;
  const layer = { attention: "full" as const, activation: "gelu" as const };
  const models: Record<string, TransformerArchitecture> = {
    "baby GPT (4 × 128)": { n_layers: 4, d_model: 128, n_heads: 4, ff_mult: 4, positions: "learned", norm: "pre_ln", dropout: 0, layers: Array.from({ length: 4 }, () => layer) },
    "8 × 128": { n_layers: 8, d_model: 128, n_heads: 4, ff_mult: 4, positions: "learned", norm: "pre_ln", dropout: 0, layers: Array.from({ length: 8 }, () => layer) },
  };
  const lines = [`Activation recomputation, batch 12 × context 64, mean of ${steps} steps after one warm-up step (${tf.getBackend()} backend)`, ""];
  lines.push("| model | recompute | peak tensor MB | MB above resting weights | estimate: activations MB | step ms |", "|---|---|---:|---:|---:|---:|");
  const results: Record<string, Record<string, Measurement>> = {};
  for (const [name, arch] of Object.entries(models)) {
    for (const recompute of [false, true]) {
      const m = measure(arch, recompute, steps);
      (results[name] ??= {})[recompute ? "recompute" : "plain"] = m;
      const est = estimateTrainingMemory(arch, { vocabSize: charLMTask().vocabSize, contextLength: 64 }, { batchSize: 12, microBatches: 1, recompute });
      lines.push(`| ${name} | ${recompute ? "yes" : "no"} | ${m.peakMb.toFixed(1)} | ${m.aboveWeightsMb.toFixed(1)} | ${est.activationsMb.toFixed(1)} | ${m.stepMs.toFixed(0)} |`);
    }
  }
  if (opts.json) lines.push("", JSON.stringify(results));
  return lines.join("\n");
}
