/**
 * A generic training loop for tfjs models (Transformers, flows): gradients of a scalar loss, clipping by global
 * norm, AdamW with a per-step learning rate, a learning curve reported through a callback, stop requests honoured
 * between steps, and a check that no tensors leak. It knows nothing about models or tasks: the caller gives the loss
 * and evaluation functions.
 *
 * Between steps the loop yields to the event loop, so progress callbacks and stop flags set by other async work
 * (a cancel arriving from the queue) are seen. All tensors it creates are disposed; the caller owns the variables.
 */
import * as tf from "@tensorflow/tfjs-core";
import { AdamW, type AdamWOptions } from "./adamw.js";
import { clipByGlobalNorm } from "./clip.js";

export interface CurvePoint {
  step: number;
  values: Record<string, number>;
}

export interface TrainLoopOptions {
  /** Trainable variables, in the order the optimizer keeps its state. */
  variables: tf.Variable[];
  /**
   * Loss of training step `step` (0-based), built inside the gradient scope: create its tensors here. With
   * `microBatches` > 1, called once per micro-batch (`microBatch` 0, 1, …) for the mean loss of that part of the
   * step's batch; the update uses the mean of their gradients, the full batch's gradient when the parts weigh the
   * same (the same number of counted tokens).
   */
  loss(step: number, microBatch: number): tf.Scalar;
  /** Gradient accumulation: micro-batches per step (default 1); activation memory of one part at a time. */
  microBatches?: number;
  /** Steps to run. */
  steps: number;
  /** Optional wall-clock budget in seconds for training steps (evaluation excluded); the loop stops when spent. */
  maxSeconds?: number;
  /** Learning rate of step `step`. */
  learningRate(step: number): number;
  optimizer?: AdamWOptions;
  /** Clip gradients to this global L2 norm; default 1, 0 turns clipping off. */
  clipNorm?: number;
  /** Report the mean training loss every `logEvery` steps (default 10). */
  logEvery?: number;
  /** Call `evaluate` every `evalEvery` steps (default: only after the last step). */
  evalEvery?: number;
  /** Also call `evaluate` after these steps (a multi-fidelity scheduler's budgets). */
  evalAt?: readonly number[];
  /** Validation metrics (e.g. {val_loss}); called every evalEvery steps and once after the last step. */
  evaluate?(step: number): Record<string, number> | Promise<Record<string, number>>;
  /** Receives every curve point (train_loss, lr, grad_norm, and evaluation values). */
  onProgress?(point: CurvePoint): void | Promise<void>;
  /** Called after every training step with its duration in seconds (forward, backward and update). */
  onStep?(step: number, seconds: number): void;
  /** Checked before every step; true stops the loop (the result says so). */
  shouldStop?(): boolean;
  /** Called when the number of live tensors grew between the end of step 1 and a later check (a leak). */
  onLeak?(info: { baseline: number; now: number; step: number }): void;
}

export interface TrainLoopResult {
  /** Training steps completed. */
  steps: number;
  /** Why the loop ended. */
  reason: "steps" | "seconds" | "stopped";
  /** Seconds spent in training steps (forward, backward, update), evaluation excluded. */
  trainSeconds: number;
  /** The last evaluation (empty if none ran). */
  lastEval: Record<string, number>;
  /** Mean training loss over the last logging window. */
  lastTrainLoss: number;
  curve: CurvePoint[];
  /** Live tensors after the first step and at the end: equal when nothing leaks. */
  liveTensors: { afterFirstStep: number; atEnd: number };
}

/** The loss became NaN or infinite: the run diverged (a fault of the configuration, not transient). */
export class TrainingDiverged extends Error {
  override name = "TrainingDiverged";
}

export async function trainLoop(opts: TrainLoopOptions): Promise<TrainLoopResult> {
  const logEvery = Math.max(1, opts.logEvery ?? 10);
  const clipNorm = opts.clipNorm ?? 1;
  const optimizer = new AdamW(opts.variables, opts.optimizer);
  const curve: CurvePoint[] = [];
  const report = async (point: CurvePoint) => {
    curve.push(point);
    await opts.onProgress?.(point);
  };
  let lastEval: Record<string, number> = {};
  const evaluate = async (step: number) => {
    if (!opts.evaluate) return;
    lastEval = await opts.evaluate(step);
    await report({ step, values: lastEval });
  };

  let baseline = -1;
  const checkLeak = (step: number) => {
    const now = tf.memory().numTensors;
    if (baseline >= 0 && now > baseline) opts.onLeak?.({ baseline, now, step });
    return now;
  };

  let trainSeconds = 0;
  let windowSum = 0;
  let windowCount = 0;
  let lastTrainLoss = NaN;
  let step = 0;
  let reason: TrainLoopResult["reason"] = "steps";
  try {
    for (; step < opts.steps; step++) {
      if (opts.shouldStop?.()) {
        reason = "stopped";
        break;
      }
      if (opts.maxSeconds !== undefined && trainSeconds >= opts.maxSeconds) {
        reason = "seconds";
        break;
      }
      const lr = opts.learningRate(step);
      const started = performance.now();
      const { loss, gradNorm } = trainStep(opts.variables, (micro) => opts.loss(step, micro), optimizer, lr, clipNorm, opts.microBatches ?? 1);
      const seconds = (performance.now() - started) / 1000;
      trainSeconds += seconds;
      opts.onStep?.(step, seconds);
      if (!Number.isFinite(loss)) throw new TrainingDiverged(`training loss became ${loss} at step ${step + 1}`);
      if (step === 0) baseline = tf.memory().numTensors;
      windowSum += loss;
      windowCount += 1;
      const done = step + 1;
      if (done % logEvery === 0 || done === opts.steps) {
        lastTrainLoss = windowSum / windowCount;
        await report({ step: done, values: { train_loss: lastTrainLoss, lr, grad_norm: gradNorm } });
        windowSum = 0;
        windowCount = 0;
      }
      if (((opts.evalEvery && done % opts.evalEvery === 0) || opts.evalAt?.includes(done)) && done < opts.steps) {
        await evaluate(done);
        checkLeak(done);
      }
      // Let timers, I/O and stop requests run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (windowCount > 0) {
      lastTrainLoss = windowSum / windowCount;
      await report({ step, values: { train_loss: lastTrainLoss } });
    }
    if (step > 0 && reason !== "stopped") await evaluate(step);
  } finally {
    optimizer.dispose();
  }
  const atEnd = checkLeak(step);
  return { steps: step, reason, trainSeconds, lastEval, lastTrainLoss, curve, liveTensors: { afterFirstStep: baseline, atEnd } };
}

/**
 * One optimisation step; returns the loss and the gradient norm before clipping. Disposes all it creates. With
 * `microBatches` > 1, `loss(i)` is the loss of micro-batch i and the step uses the mean loss and mean gradient.
 */
export function trainStep(variables: tf.Variable[], loss: (microBatch: number) => tf.Scalar, optimizer: AdamW, lr: number, clipNorm: number, microBatches = 1): { loss: number; gradNorm: number } {
  const { value, grads } = microBatches > 1 ? accumulatedGrads(variables, loss, microBatches) : tf.variableGrads(() => loss(0), variables);
  try {
    const ordered = variables.map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`no gradient for ${v.name}`);
      return g;
    });
    const lossValue = value.dataSync()[0]!;
    if (!Number.isFinite(lossValue)) return { loss: lossValue, gradNorm: NaN };
    // Norm, clipping and update in two native calls on the wasm heap (the same arithmetic as the host path below).
    if (optimizer.native) return { loss: lossValue, gradNorm: optimizer.stepFused(ordered, lr, clipNorm) };
    if (optimizer.host) {
      // One download per gradient serves the norm and the update.
      const arrays = ordered.map((g) => g.dataSync() as Float32Array);
      let sq = 0;
      for (const a of arrays) for (let j = 0; j < a.length; j++) sq += a[j]! * a[j]!;
      const norm = Math.sqrt(sq);
      const scale = clipNorm > 0 && Number.isFinite(norm) && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
      optimizer.stepHost(arrays, lr, scale);
      return { loss: lossValue, gradNorm: norm };
    }
    if (clipNorm > 0) {
      const clipped = clipByGlobalNorm(ordered, clipNorm);
      optimizer.step(clipped.grads, lr);
      if (clipped.clipped) tf.dispose(clipped.grads);
      return { loss: lossValue, gradNorm: clipped.norm };
    }
    optimizer.step(ordered, lr);
    return { loss: lossValue, gradNorm: NaN };
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}

/**
 * Gradient accumulation ("How to train really large models on many GPUs"): the gradients of `count` micro-batch
 * losses, one after the other (only one micro-batch's activations live at a time), averaged; and the mean loss.
 */
function accumulatedGrads(variables: tf.Variable[], loss: (microBatch: number) => tf.Scalar, count: number): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  let sum: tf.NamedTensorMap = {};
  let total = 0;
  for (let i = 0; i < count; i++) {
    const { value, grads } = tf.variableGrads(() => loss(i), variables);
    total += value.dataSync()[0]!;
    value.dispose();
    if (i === 0) sum = grads;
    else
      for (const name of Object.keys(grads)) {
        const next = tf.add(sum[name]!, grads[name]!);
        tf.dispose([sum[name]!, grads[name]!]);
        sum[name] = next;
      }
  }
  const grads: tf.NamedTensorMap = {};
  for (const name of Object.keys(sum)) {
    grads[name] = tf.div(sum[name]!, count);
    sum[name]!.dispose();
  }
  return { value: tf.scalar(total / count), grads };
}
