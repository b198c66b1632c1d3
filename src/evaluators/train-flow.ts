/**
 * Trains and scores one normalizing-flow architecture (space family "flow") on a density-estimation task: the
 * 2-D densities of src/tasks/densities.ts or MNIST (src/tasks/mnist.ts). The `train` evaluator dispatches here.
 *
 * Metrics: `test_nll` (nats per example, in data space), `gap_nats` (test NLL − true entropy, for the 2-D tasks
 * whose entropy is known: 8gaussians, checkerboard, two-moons), `bits_per_dim` (mnist, data space), `val_nll`,
 * `params`, `training_time_s`, `sampling_time_s`, `steps`, `backend`. Artifacts: 2-D tasks `density.png` (labelled
 * panels: model density | model samples | data) and `samples.png` (the model's samples); mnist `samples.png` (a grid
 * of samples).
 *
 * Errors: a malformed architecture, a diverged loss (NaN/∞) or a missing objective metric throw `TrialError`
 * (not retried); a stop request between steps throws `TrialStopped`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { backendLabel, initBackend } from "../models/backend.js";
import { buildFlow, parseFlowArchitecture, type Flow, type FlowInput } from "../models/flows/index.js";
import { trainLoop, TrainingDiverged, warmupCosine } from "../models/training/index.js";
import { datasetObjectiveIncompatibility, flowObjectiveIncompatibility, flowTrainConfigSchema, isDensityTask, type DensityTaskName } from "../catalogue/tasks.js";
import { imageDatasetSplits, vectorDatasetSplits, type VectorSplits } from "../tasks/datasets.js";
import { Rng } from "../core/rng.js";
import { densityDataset, trueEntropy } from "../tasks/densities.js";
import { fromLogitSpace, MNIST_ALPHA, mnistDataset, toLogitSpace, type MnistData } from "../tasks/mnist.js";
import { densityPng, gridPoints, imageGridPng, samplesPng } from "../tasks/plots.js";
import { flowFiles, modelArtifacts, type Normalisation } from "../models/artifact/index.js";
import { datasetHashOf } from "./dataset-hash.js";
import { concatRows } from "./final-data.js";
import { TrialError, TrialStopped, type Artifact, type EvaluationContext, type EvaluationRequest, type EvaluationResult, type Metrics } from "./evaluator.js";


/** A task as the trainer sees it: batches of flow inputs, and data-space NLLs of a split. */
interface PreparedTask {
  input: FlowInput;
  trainSize: number;
  /** A training batch (flat [n, dim]) for the given rows; mnist dequantizes afresh every call. */
  batch(rows: number[], rng: Rng): Float32Array;
  /** Mean data-space NLL (nats per example) of a split. */
  nll(flow: Flow, split: "val" | "test"): number;
  /** How data rows map to the flow's space (a model's manifest keeps it); identity when absent. */
  normalisation?: Normalisation;
  /** The task's identity when it is not the config's task (an uploaded dataset's: `vectors:<id>`, `images:<id>`). */
  id?: string;
  /** Content hash of the uploaded dataset it was made from. */
  datasetSha256?: string;
}

const EVAL_BATCH = 2000;

/** −log p of every row of `x` under `flow`, computed in batches. */
export function logProbs(flow: Flow, x: Float32Array, dim: number): Float32Array {
  const n = x.length / dim;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += EVAL_BATCH) {
    const m = Math.min(EVAL_BATCH, n - i);
    const lp = tf.tidy(() => flow.logProb(tf.tensor2d(x.subarray(i * dim, (i + m) * dim), [m, dim])));
    out.set(lp.dataSync(), i);
    lp.dispose();
  }
  return out;
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

function rowsOf(data: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(data.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

function prepareDensity(name: DensityTaskName, dataSeed: number, final = false): PreparedTask & { data: ReturnType<typeof densityDataset> } {
  const data = densityDataset(name, dataSeed);
  // A final training (a retrained model) trains on train + validation.
  const train = final ? concatRows(data.train, data.val) : data.train;
  return {
    data,
    input: { dim: 2 },
    trainSize: train.length / 2,
    batch: (rows) => rowsOf(train, 2, rows),
    nll: (flow, split) => -mean(logProbs(flow, data[split], 2)),
  };
}

/**
 * An uploaded vectors dataset (src/tasks/datasets.ts): the flow models the standardised rows z = (x − mean) / std;
 * its NLL is reported in the data's own units, −log p(x) = −log p_flow(z) + Σ log std (nats per row).
 */
function prepareVectors(data: VectorSplits, final = false): PreparedTask {
  const { dim } = data;
  const train = final ? concatRows(data.train, data.val) : data.train;
  return {
    id: data.id,
    datasetSha256: data.datasetSha256,
    input: { dim },
    normalisation: { kind: "standardize", mean: data.mean, std: data.std },
    trainSize: train.length / dim,
    batch: (rows) => rowsOf(train, dim, rows),
    nll: (flow, split) => -mean(logProbs(flow, data[split], dim)) + data.logStdSum,
  };
}

/** Images as the MNIST path takes them (8-bit pixels, dequantised and logit-transformed): MNIST's or an uploaded dataset's. */
type ImageData = Pick<MnistData, "dim" | "height" | "width" | "train" | "val" | "test">;

function prepareMnist(data: ImageData, final = false): PreparedTask {
  const { dim } = data;
  const evalCache = new Map<string, { s: Float32Array; logJacobian: Float64Array }>();
  const train = final ? concatRows(data.train, data.val) : data.train;
  return {
    input: { dim, image: { height: data.height, width: data.width } },
    normalisation: { kind: "logit", alpha: MNIST_ALPHA, levels: 256 },
    trainSize: train.length / dim,
    batch: (rows, rng) => toLogitSpace(train, dim, rows, rng).s,
    nll: (flow, split) => {
      // One fixed dequantization per split, so every trial is scored on the same noise.
      let d = evalCache.get(split);
      if (!d) {
        const n = data[split].length / dim;
        d = toLogitSpace(data[split], dim, Array.from({ length: n }, (_, i) => i), new Rng(split === "val" ? 101 : 202));
        evalCache.set(split, d);
      }
      const lp = logProbs(flow, d.s, dim);
      let s = 0;
      for (let i = 0; i < lp.length; i++) s -= lp[i]! + d.logJacobian[i]!;
      return s / lp.length;
    },
  };
}

/** Trains `request.architecture` on `request.config.task` and returns its metrics and picture. */
export async function runFlowTrial(request: EvaluationRequest, ctx: EvaluationContext): Promise<EvaluationResult> {
  const cfg = flowTrainConfigSchema.parse(request.config ?? {});
  await initBackend(); // also registers tfjs's gradient functions (src/models/tfjs-gradients.ts)

  let arch;
  try {
    arch = parseFlowArchitecture(request.architecture);
  } catch (err) {
    throw new TrialError((err as Error).message);
  }

  // An uploaded dataset (request.dataset) replaces the config's task: images take MNIST's path, vectors their own.
  const source = request.dataset;
  const images = source?.kind === "images" ? imageDatasetSplits(source) : undefined;
  const mnist: ImageData | undefined = source ? images : cfg.task === "mnist" ? mnistDataset(cfg.resolution) : undefined;
  const vectors = source?.kind === "vectors" ? prepareVectors(vectorDatasetSplits(source), request.final) : undefined;
  if (source && !images && !vectors) throw new TrialError(`dataset ${source.id} is ${source.kind} data; flow spaces train on vectors or images datasets`);
  const density = !source && isDensityTask(cfg.task) ? prepareDensity(cfg.task, cfg.dataSeed, request.final) : undefined;
  const task: PreparedTask = mnist ? { ...prepareMnist(mnist, request.final), ...(images ? { id: images.id, datasetSha256: images.datasetSha256 } : {}) } : (vectors ?? density!);
  const taskId = task.id ?? cfg.task;
  const dim = task.input.dim;
  const lossScale = mnist ? 1 / dim : 1; // mnist trains on nats per dimension, 2-D on nats per point

  const rng = new Rng(request.seed);
  const started = performance.now();
  let flow: Flow;
  const buildSeed = rng.int(2 ** 31); // kept in the model's manifest: fixed random permutations come from it
  try {
    flow = buildFlow(arch, task.input, buildSeed);
  } catch (err) {
    throw new TrialError(`cannot build the flow: ${(err as Error).message}`);
  }
  try {
    const params = flow.parameterCount();
    // Data-dependent initialisation (actnorm) on a batch of training data.
    const initRows = Array.from({ length: Math.min(task.trainSize, mnist ? 512 : 2048) }, () => rng.int(task.trainSize));
    tf.tidy(() => flow.initialize(tf.tensor2d(task.batch(initRows, rng), [initRows.length, dim])));

    // Under a multi-fidelity scheduler the budgets are training steps: evaluate at each, train up to the last.
    const steps = request.budgets?.at(-1) ?? cfg.budget.steps;
    const peak = cfg.learningRate ?? (mnist ? 1e-3 : 1e-2);
    const cosine = warmupCosine({ peak, min: peak / 20, warmupSteps: Math.floor(steps / 20), totalSteps: steps });
    // With a seconds budget the schedule follows whichever budget is further along, so a trial that runs out of
    // time has still annealed its learning rate (rather than stopping at its peak).
    let loopStart = performance.now();
    const progressStep = (step: number) => {
      const seconds = cfg.budget.seconds;
      return seconds === undefined ? step : Math.max(step, Math.floor((((performance.now() - loopStart) / 1000) * steps) / seconds));
    };
    const learningRate = cfg.schedule === "cosine" ? (step: number) => cosine(progressStep(step)) : () => peak;
    const batchRng = rng.fork();
    const evalEvery = cfg.evalEvery ?? Math.max(1, Math.floor(steps / 10));
    let result;
    loopStart = performance.now();
    try {
      result = await trainLoop({
        variables: flow.variables(),
        steps,
        maxSeconds: cfg.budget.seconds,
        learningRate,
        optimizer: { weightDecay: cfg.weightDecay },
        clipNorm: cfg.clipNorm,
        logEvery: Math.max(1, Math.floor(steps / 50)),
        evalEvery,
        evalAt: request.budgets,
        loss: () => {
          const rows = Array.from({ length: cfg.batchSize }, () => batchRng.int(task.trainSize));
          const x = tf.tensor2d(task.batch(rows, batchRng), [cfg.batchSize, dim]);
          return tf.mul(tf.neg(tf.mean(flow.logProb(x))), lossScale) as tf.Scalar;
        },
        evaluate: (): Record<string, number> => {
          const nll = task.nll(flow, "val");
          if (!Number.isFinite(nll)) throw new TrainingDiverged(`validation NLL is ${nll}`);
          const values: Record<string, number> = mnist ? { val_nll: nll, val_bits_per_dim: nll / (dim * Math.LN2) } : { val_nll: nll };
          // A scheduler ranks trials on the objective, which flows measure on test data: it gets the validation
          // estimate of it instead (pruning never looks at test data).
          if (request.budgets) values.objective = validationEstimate(request.objective.metric, nll, dim, taskId);
          return values;
        },
        onProgress: (point) => ctx.reportProgress(point),
        shouldStop: () => ctx.shouldStop(),
      });
    } catch (err) {
      if (err instanceof TrainingDiverged) throw new TrialError(`diverged: ${err.message}`);
      throw err;
    }
    if (result.reason === "stopped") throw new TrialStopped(`stopped after ${result.steps} steps`);
    const trainingTime = (performance.now() - started) / 1000;

    const testNll = task.nll(flow, "test");
    if (!Number.isFinite(testNll)) throw new TrialError(`test NLL is ${testNll}`);
    const metrics: Metrics = {
      test_nll: testNll,
      val_nll: result.lastEval.val_nll ?? null,
      params,
      training_time_s: trainingTime,
      steps: result.steps,
      backend: backendLabel(),
      task: taskId,
    };

    const artifacts: Artifact[] = [];
    const sampleStart = performance.now();
    if (mnist) {
      const count = 64;
      const s = tf.tidy(() => flow.sample(count, rng.int(2 ** 31)));
      const pixels = fromLogitSpace(await s.data());
      s.dispose();
      metrics.sampling_time_s = (performance.now() - sampleStart) / 1000;
      metrics.bits_per_dim = testNll / (dim * Math.LN2);
      artifacts.push({ name: "samples.png", contentType: "image/png", data: imageGridPng(pixels, count, mnist.height, mnist.width, 8, Math.max(1, Math.round(56 / Math.max(mnist.height, mnist.width)))) });
    } else if (!density) {
      // An uploaded vectors dataset: sampling is timed; no picture (its rows need not be 2-D).
      const s = tf.tidy(() => flow.sample(cfg.samples, rng.int(2 ** 31)));
      await s.data();
      s.dispose();
      metrics.sampling_time_s = (performance.now() - sampleStart) / 1000;
    } else {
      const s = tf.tidy(() => flow.sample(cfg.samples, rng.int(2 ** 31)));
      const samples = (await s.data()) as Float32Array;
      s.dispose();
      metrics.sampling_time_s = (performance.now() - sampleStart) / 1000;
      const entropy = trueEntropy(cfg.task as DensityTaskName);
      if (entropy !== undefined) {
        metrics.gap_nats = testNll - entropy;
        metrics.true_entropy = entropy;
      }
      const extent = density!.data.task.extent;
      const size = 128;
      const logDensity = logProbs(flow, gridPoints(extent, size), 2);
      artifacts.push({ name: "density.png", contentType: "image/png", data: densityPng({ extent, size, logDensity, samples, data: density!.data.test.subarray(0, 2 * cfg.samples) }) });
      // The README lists samples.png for every flow: on a 2-D task, the model's samples alone, larger.
      artifacts.push({ name: "samples.png", contentType: "image/png", data: samplesPng({ extent, size: 256, samples }) });
    }

    if (request.final) metrics.test_split = "test";
    // The trained flow in the service's format (src/models/artifact/): the trainer keeps the best trials' weights.
    const files = flowFiles(flow, task.input, task.normalisation ?? { kind: "identity" }, {
      architecture: arch as unknown as Record<string, unknown>,
      seed: buildSeed,
      trainConfig: cfg as unknown as Record<string, unknown>,
      task: taskId,
      datasetSha256: datasetHashOf(task),
      metrics,
    });
    artifacts.push(...modelArtifacts(files));

    const objective = metrics[request.objective.metric];
    if (typeof objective !== "number" || !Number.isFinite(objective)) {
      const why = source ? datasetObjectiveIncompatibility("flow", source.kind, request.objective.metric) : flowObjectiveIncompatibility(cfg.task, request.objective.metric);
      throw new TrialError(`objective '${request.objective.metric}' is not available for task ${taskId}: ${why ?? String(objective)}`);
    }
    return { metrics, artifacts };
  } finally {
    flow.dispose();
  }
}

/** The objective metric as measured on the validation split (test_nll, gap_nats, bits_per_dim → from val_nll). */
function validationEstimate(metric: string, valNll: number, dim: number, task: string): number {
  switch (metric) {
    case "gap_nats":
      return valNll - (isDensityTask(task) ? (trueEntropy(task) ?? 0) : 0);
    case "bits_per_dim":
      return valNll / (dim * Math.LN2);
    default:
      return valNll;
  }
}
