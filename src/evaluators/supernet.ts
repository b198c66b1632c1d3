/**
 * The `supernet` evaluator: the DARTS supernet job (Liu et al. 2019) that a trainer runs when a search's `darts`
 * strategy asks for one (a trial of kind "supernet" whose options are the strategy's, with the search's `train`
 * options under `train`), in a training thread like every `train` trial. It builds the
 * supernet of the search's space (models/supernet/), train its weights and its architecture parameters α by the
 * bi-level optimisation, report the learning curve and α as it goes, and derive the argmax architecture and the
 * next `deriveTop` alternatives. Those become ordinary trials of the search, retrained from scratch by the `train`
 * evaluator: the supernet's own validation loss is reported for information and is never an architecture's score.
 *
 * Data: as in the paper, the task's training split is divided in two halves: the weights train on the first,
 * α on the second (the paper's "validation" half). The task's evaluation set (the one retrained trials are scored
 * on) is only used for the supernet's final loss. Synthetic tasks draw the two from independent random streams.
 *
 * Progress: the learning curve (`train_loss`, `lr`, `alpha_val_loss`) and, every `alphaEvery` steps, α (curve points
 * carrying `alphas`). Metrics: `supernet_val_loss` (information only), the derived architectures and the final α.
 *
 * Errors: a bad base architecture or candidate list, or a diverged loss, throws `TrialError` (not retried); a stop
 * request (checked before every step) throws `TrialStopped`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import { initBackend } from "../models/backend.js";
import type { Activation as FlowActivation } from "../models/flows/index.js";
import {
  auxSkipWeight,
  BilevelOptimizer,
  collapseCriterion,
  deriveArchitectures,
  FLOW_ACTIVATION_PATH,
  FlowSupernet,
  NONE,
  TransformerSupernet,
  type AttentionCandidate,
  type DerivedArchitecture,
  type IterationLosses,
  type RelaxedDecision,
} from "../models/supernet/index.js";
import { warmupCosine } from "../models/training/index.js";
import type { SupernetOptions } from "../catalogue/evaluators.js";
import { DEFAULT_BASE, DEFAULT_FLOW_BASE, dartsOptions, type DartsConfig, type DartsConfigInput } from "../catalogue/strategies.js";
import { flowTrainConfigSchema, isDensityTask, transformerTrainConfigSchema } from "../catalogue/tasks.js";
import { ACTIVATIONS, ATTENTION_KINDS, type Activation } from "../models/transformer/index.js";
import type { Architecture } from "../spaces/definition.js";
import { Rng } from "../core/rng.js";
import type { SearchSpace } from "../spaces/space.js";
import { CharLMTask } from "../tasks/charlm.js";
import type { SequenceTask, TokenBatch } from "../tasks/sequence-task.js";
import { densityDataset } from "../tasks/densities.js";
import { isOutOfMemory } from "../core/errors.js";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type EvaluationResult, type Metrics } from "./evaluator.js";
import { logProbs } from "./train-flow.js";
import { transformerTask } from "./train-transformer.js";

export interface SupernetJobRequest {
  space: SearchSpace;
  /** The strategy options (parsed again here, so raw input is fine). */
  darts: DartsConfigInput;
  /** The search's `train` evaluator config (task, batchSize, contextLength, …), parsed with the family's schema. */
  train: unknown;
  seed: number;
}

export interface SupernetJobContext {
  reportProgress(p: { step: number; values: Record<string, number> }): void | Promise<void>;
  reportAlphas(step: number, alphas: Record<string, Record<string, number>>): void | Promise<void>;
  shouldStop(): boolean;
  log(message: string): void;
}

export interface SupernetJobResult {
  /** Final α: decision path → candidate → softmax weight. */
  alphas: Record<string, Record<string, number>>;
  /** The argmax architecture first, then up to `deriveTop` alternatives; each valid in the space, distinct hashes. */
  derived: Architecture[];
  /** Details of each derived architecture (choices, joint log-probability, decisions flipped). */
  derivation: Array<Pick<DerivedArchitecture, "hash" | "choices" | "logProb" | "flips">>;
  /** What the derivation had to change (e.g. a winning `none` replaced by the best attention kind). */
  notes: string[];
  /** Supernet loss (nats per token) on the task's evaluation set: information only, never an architecture's score. */
  supernetValLoss: number;
  /** Iterations run. */
  steps: number;
  /** Why the search stopped before supernetSteps (darts+), if it did. */
  stoppedEarly?: string;
  /** Weight scalars of the supernet (α excluded). */
  supernetParams: number;
  wallTimeS: number;
}

/** The supernet job as an evaluation: its curve and α through `reportProgress`, what it found as metrics. */
export async function runSupernetTrial(request: EvaluationRequest<SupernetOptions>, ctx: EvaluationContext): Promise<EvaluationResult> {
  const { train, ...darts } = request.config;
  const result = await runSupernetJob(
    { space: request.space, darts, train, seed: request.seed },
    { ...ctx, reportAlphas: (step, alphas) => ctx.reportProgress({ step, values: {}, alphas }) },
  );
  const metrics = {
    note: "supernet_val_loss is the supernet's loss, not the score of any architecture: the derived architectures are retrained from scratch as trials",
    supernet_val_loss: result.supernetValLoss,
    supernet_params: result.supernetParams,
    steps: result.steps,
    wall_time_s: result.wallTimeS,
    stopped_early: result.stoppedEarly ?? null,
    alphas: result.alphas,
    derived: result.derived,
    derivation: result.derivation,
    notes: result.notes,
  };
  return { metrics: metrics as unknown as Metrics };
}

/** Runs the supernet job; dispatches on the space's family. */
export async function runSupernetJob(req: SupernetJobRequest, ctx: SupernetJobContext): Promise<SupernetJobResult> {
  const parsed = dartsOptions.safeParse(req.darts ?? {});
  if (!parsed.success) throw new TrialError(`invalid darts options: ${formatZod(parsed.error)}`);
  switch (req.space.family) {
    case "transformer":
      return runTransformerSupernet(req, parsed.data, ctx);
    case "flow":
      return runFlowSupernet(req, parsed.data, ctx);
    default:
      throw new TrialError(`DARTS does not support spaces of family '${req.space.family}' (space ${req.space.id}); it supports: transformer, flow`);
  }
}

/** What the search loop needs of a supernet (TransformerSupernet, FlowSupernet). */
interface Supernet {
  weightVariables(): tf.Variable[];
  alphaVariables(): tf.Variable[];
  alphas(): Record<string, Record<string, number>>;
  alphaState(): Record<string, number[]>;
  setAlphaState(state: Record<string, readonly number[]>): void;
  decisions(): RelaxedDecision[];
  parameterCount(): number;
  /** DARTS−; absent where no decision has a parameter-free candidate. */
  setAuxSkip?(beta: number): void;
}

/** The batches of one iteration as losses; `val` only exists once α trains. */
interface Iteration {
  losses: IterationLosses;
  dispose(): void;
}

interface LoopSettings {
  weightLearningRate: number;
  weightDecay: number;
  beta2?: number;
  clipNorm: number;
  logEvery: number;
  /** DARTS+ bound when the config gives none. */
  defaultBound: number;
  /** The losses of iteration `step`; `withVal` when α trains at this step. */
  iteration(step: number, withVal: boolean): Iteration;
}

/**
 * The alternating bi-level loop (bilevel.ts) with warm-up, progress and α reports, stop requests and the collapse
 * remedies. Returns the iterations run and, for DARTS+, why it stopped early (α then restored to the last state
 * within the bound).
 */
async function searchLoop(net: Supernet, darts: DartsConfig, settings: LoopSettings, ctx: SupernetJobContext): Promise<{ steps: number; stoppedEarly?: string }> {
  const steps = darts.supernetSteps;
  const warmup = Math.min(steps, darts.warmupSteps ?? Math.floor(steps / 4));
  const bound = darts.maxParameterFree ?? settings.defaultBound;
  const decisions = net.decisions();
  const weightLr = warmupCosine({ peak: settings.weightLearningRate, warmupSteps: Math.min(100, Math.floor(steps / 10)), totalSteps: steps });
  const opt = new BilevelOptimizer(net.weightVariables(), net.alphaVariables(), {
    order: darts.order,
    weightLearningRate: weightLr,
    weightOptimizer: { weightDecay: settings.weightDecay, ...(settings.beta2 === undefined ? {} : { beta2: settings.beta2 }) },
    clipNorm: settings.clipNorm,
    alphaLearningRate: darts.alphaLearningRate,
    alphaWeightDecay: darts.alphaWeightDecay,
    unrolledLearningRate: darts.unrolledLearningRate === undefined ? undefined : () => darts.unrolledLearningRate!,
  });
  ctx.log(`darts: order ${darts.order}, ${steps} steps (${warmup} warm-up), ${decisions.length} decisions, supernet of ${net.parameterCount()} weights, remedy ${darts.remedy}`);
  let withinBound = { step: 0, state: net.alphaState() }; // DARTS+: the last α within the bound
  let trainSum = 0;
  let valSum = 0;
  let trainCount = 0;
  let valCount = 0;
  try {
    await ctx.reportAlphas(0, net.alphas());
    for (let step = 0; step < steps; step++) {
      if (ctx.shouldStop()) throw new TrialStopped(`stopped after ${step} of ${steps} supernet steps`);
      if (darts.remedy === "darts-") net.setAuxSkip?.(auxSkipWeight(darts.auxSkipWeight, step, steps));
      const alphaPhase = step >= warmup;
      const it = settings.iteration(step, alphaPhase);
      try {
        if (alphaPhase) {
          const { valLoss } = opt.alphaStep(it.losses, step);
          if (!Number.isFinite(valLoss)) throw new TrialError(`supernet validation loss became ${valLoss} at step ${step + 1}`);
          valSum += valLoss;
          valCount += 1;
        }
        const { loss } = opt.weightStep(it.losses.train, step);
        if (!Number.isFinite(loss)) throw new TrialError(`supernet training loss became ${loss} at step ${step + 1}`);
        trainSum += loss;
        trainCount += 1;
      } finally {
        it.dispose();
      }
      const done = step + 1;
      if (done % settings.logEvery === 0 || done === steps) {
        const values: Record<string, number> = { train_loss: trainSum / trainCount, lr: weightLr(step) };
        if (valCount > 0) values.alpha_val_loss = valSum / valCount;
        await ctx.reportProgress({ step: done, values });
        trainSum = valSum = trainCount = valCount = 0;
      }
      const alphaDue = done % darts.alphaEvery === 0 || done === steps;
      const alphas = alphaDue || darts.remedy === "darts+" ? net.alphas() : undefined;
      if (alphas && alphaDue) await ctx.reportAlphas(done, alphas);
      if (alphas && darts.remedy === "darts+" && alphaPhase) {
        const collapse = collapseCriterion(decisions, alphas, bound);
        if (collapse) {
          // DARTS+: stop here, and derive from the last α that kept within the bound.
          net.setAlphaState(withinBound.state);
          const stoppedEarly = `${collapse}; stopped at step ${done} of ${steps}; α restored to step ${withinBound.step}`;
          ctx.log(stoppedEarly);
          await ctx.reportAlphas(done, net.alphas());
          return { steps: done, stoppedEarly };
        }
        withinBound = { step: done, state: net.alphaState() };
      }
      // Let stop requests and I/O run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { steps };
  } catch (err) {
    if (err instanceof TrialError || err instanceof TrialStopped) throw err;
    if (isOutOfMemory(err)) throw new TrialError(`the supernet does not fit in memory: ${String((err as Error).message ?? err)}`);
    throw err;
  } finally {
    net.setAuxSkip?.(0); // DARTS−: β ends at 0, so the supernet is evaluated without the auxiliary skip
    opt.dispose();
  }
}

function resultOf(
  derivedAll: DerivedArchitecture[],
  alphas: Record<string, Record<string, number>>,
  run: { steps: number; stoppedEarly?: string },
  supernetValLoss: number,
  supernetParams: number,
  started: number,
  ctx: SupernetJobContext,
): SupernetJobResult {
  for (const n of derivedAll[0]!.notes) ctx.log(n);
  return {
    alphas,
    derived: derivedAll.map((d) => d.architecture),
    derivation: derivedAll.map(({ hash, choices, logProb, flips }) => ({ hash, choices, logProb, flips })),
    notes: derivedAll[0]!.notes,
    supernetValLoss,
    steps: run.steps,
    ...(run.stoppedEarly ? { stoppedEarly: run.stoppedEarly } : {}),
    supernetParams,
    wallTimeS: (performance.now() - started) / 1000,
  };
}

async function runTransformerSupernet(req: SupernetJobRequest, darts: DartsConfig, ctx: SupernetJobContext): Promise<SupernetJobResult> {
  const started = performance.now();
  const trainParsed = transformerTrainConfigSchema.safeParse(req.train ?? {});
  if (!trainParsed.success) throw new TrialError(`invalid train config: ${formatZod(trainParsed.error)}`);
  const cfg = trainParsed.data;
  await initBackend();
  const { space } = req;
  const task = transformerTask(cfg);
  const T = cfg.contextLength;
  const setup = supernetSetup(space, darts);
  let net: TransformerSupernet;
  try {
    net = new TransformerSupernet(setup.base, { vocabSize: task.vocabSize, contextLength: T }, req.seed, {
      attention: setup.attention,
      activation: setup.activation,
      window: setup.window,
      stride: setup.stride,
    });
  } catch (err) {
    throw new TrialError(`cannot build the supernet: ${err instanceof z.ZodError ? formatZod(err) : String((err as Error).message ?? err)}`);
  }
  try {
    const data = splitForSearch(task);
    const weightRng = new Rng(req.seed ^ 0x2545f491);
    const alphaRng = new Rng(req.seed ^ 0x6a09e667);
    const run = await searchLoop(
      net,
      darts,
      {
        weightLearningRate: darts.weightLearningRate ?? 3e-3,
        weightDecay: cfg.weightDecay,
        beta2: cfg.beta2,
        clipNorm: cfg.clipNorm,
        logEvery: cfg.logEvery,
        defaultBound: Math.floor(net.base.n_layers / 2),
        iteration: (step, withVal) => {
          const train = batchTensors(data.weightBatch(weightRng, cfg.batchSize, T));
          const val = withVal ? batchTensors(data.alphaBatch(alphaRng, cfg.batchSize, T)) : undefined;
          return {
            losses: {
              train: () => net.loss(train.inputs, train.targets, { training: true, step, weights: train.weights }),
              val: () => {
                if (!val) throw new Error("no validation batch at a warm-up step");
                return net.loss(val.inputs, val.targets, { training: true, step, weights: val.weights });
              },
            },
            dispose: () => {
              disposeBatch(train);
              if (val) disposeBatch(val);
            },
          };
        },
      },
      ctx,
    );
    const alphas = net.alphas();
    const supernetValLoss = supernetLoss(net, task.evalBatches(T, cfg.evalSequences, cfg.batchSize));
    await ctx.reportProgress({ step: run.steps, values: { supernet_val_loss: supernetValLoss, supernet_val_bpc: supernetValLoss / Math.LN2 } });
    return resultOf(deriveTransformer(space, setup, alphas, darts.deriveTop), alphas, run, supernetValLoss, net.parameterCount(), started, ctx);
  } finally {
    net.dispose();
  }
}

async function runFlowSupernet(req: SupernetJobRequest, darts: DartsConfig, ctx: SupernetJobContext): Promise<SupernetJobResult> {
  const started = performance.now();
  const trainParsed = flowTrainConfigSchema.safeParse(req.train ?? {});
  if (!trainParsed.success) throw new TrialError(`invalid train config: ${formatZod(trainParsed.error)}`);
  const cfg = trainParsed.data;
  if (!isDensityTask(cfg.task)) throw new TrialError(`DARTS over flows supports the 2-D density tasks, not '${cfg.task}'`);
  await initBackend();
  const { space } = req;
  const spaceActivations = (space.definition.decisions.find((d) => d.name === FLOW_ACTIVATION_PATH && d.type === "categorical") as { values: unknown[] } | undefined)?.values.map(String);
  if (!spaceActivations) throw new TrialError(`space ${space.id} has no categorical '${FLOW_ACTIVATION_PATH}' decision to relax`);
  const activation = (darts.activationCandidates ?? spaceActivations) as FlowActivation[];
  for (const a of activation) if (!spaceActivations.includes(a)) throw new TrialError(`activationCandidates: '${a}' is not an activation of space ${space.id}`);
  const base = space.canonical({ ...(darts.baseArchitecture ?? DEFAULT_FLOW_BASE), activation: activation[0]! } as Architecture);
  const issues = space.validate(base);
  if (issues.length) throw new TrialError(`baseArchitecture is not valid in space ${space.id}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);

  const data = densityDataset(cfg.task, cfg.dataSeed);
  const n = data.train.length / 2;
  const half = Math.floor(n / 2); // weights on the first half of the training split, α on the second
  const rng = new Rng(req.seed);
  let net: FlowSupernet;
  try {
    net = new FlowSupernet(base, { dim: 2 }, rng.int(2 ** 31), { activation });
  } catch (err) {
    throw new TrialError(`cannot build the supernet: ${String((err as Error).message ?? err)}`);
  }
  try {
    const rowsFrom = (r: Rng, offset: number, size: number) => {
      const out = new Float32Array(cfg.batchSize * 2);
      for (let i = 0; i < cfg.batchSize; i++) {
        const row = offset + r.int(size);
        out[2 * i] = data.train[2 * row]!;
        out[2 * i + 1] = data.train[2 * row + 1]!;
      }
      return tf.tensor2d(out, [cfg.batchSize, 2]);
    };
    // Data-dependent initialisation (actnorm) on training data, outside any gradient tape.
    tf.tidy(() => net.flow.initialize(rowsFrom(rng, 0, half)));
    const weightRng = rng.fork();
    const alphaRng = rng.fork();
    const run = await searchLoop(
      net,
      darts,
      {
        weightLearningRate: darts.weightLearningRate ?? cfg.learningRate ?? 1e-2,
        weightDecay: cfg.weightDecay,
        clipNorm: cfg.clipNorm,
        logEvery: Math.max(1, Math.floor(darts.supernetSteps / 50)),
        defaultBound: 0,
        iteration: (_step, withVal) => {
          const train = rowsFrom(weightRng, 0, half);
          const val = withVal ? rowsFrom(alphaRng, half, n - half) : undefined;
          return {
            losses: {
              train: () => tf.neg(tf.mean(net.logProb(train))) as tf.Scalar,
              val: () => {
                if (!val) throw new Error("no validation batch at a warm-up step");
                return tf.neg(tf.mean(net.logProb(val))) as tf.Scalar;
              },
            },
            dispose: () => tf.dispose(val ? [train, val] : [train]),
          };
        },
      },
      ctx,
    );
    const alphas = net.alphas();
    const lp = logProbs(net.flow, data.val, 2);
    const supernetValLoss = -lp.reduce((s, x) => s + x, 0) / lp.length;
    if (!Number.isFinite(supernetValLoss)) throw new TrialError(`supernet validation NLL is ${supernetValLoss}`);
    await ctx.reportProgress({ step: run.steps, values: { supernet_val_nll: supernetValLoss } });
    const derivedAll = deriveArchitectures({ space, base, alphas, top: darts.deriveTop });
    return resultOf(derivedAll, alphas, run, supernetValLoss, net.parameterCount(), started, ctx);
  } finally {
    net.dispose();
  }
}

/** What the supernet is built from: the base architecture (valid in the space), the candidates and window/stride. */
interface TransformerSetup {
  base: Architecture;
  attention: AttentionCandidate[];
  activation: Activation[];
  window: number;
  stride: number;
}

function supernetSetup(space: SearchSpace, darts: DartsConfig): TransformerSetup {
  const raw: Record<string, unknown> = { ...(darts.baseArchitecture ?? DEFAULT_BASE) };
  const nLayers = raw.n_layers;
  if (typeof nLayers !== "number" || !Number.isInteger(nLayers) || nLayers < 1) throw new TrialError("baseArchitecture.n_layers must be a positive integer");
  // The supernet mixes dense feed-forward blocks; derived trials of a mixture-of-experts base would train another model.
  if (raw.feed_forward !== undefined && raw.feed_forward !== "dense") throw new TrialError("baseArchitecture.feed_forward must be 'dense': the DARTS supernet relaxes dense feed-forward blocks");
  const baseLayers = Array.isArray(raw.layers) ? (raw.layers as Array<Record<string, unknown>>) : [];
  const fromBase = (key: string) => baseLayers.map((l) => l[key]).find((v): v is number => typeof v === "number");
  const window = darts.window ?? fromBase("window") ?? 16;
  const stride = darts.stride ?? fromBase("stride") ?? 8;

  const spaceAttention = spaceLayerOptions(space, "attention").map(String);
  const spaceActivation = spaceLayerOptions(space, "activation").map(String);
  const attention = (darts.attentionCandidates ?? spaceAttention.filter((a): a is (typeof ATTENTION_KINDS)[number] => (ATTENTION_KINDS as readonly string[]).includes(a))) as AttentionCandidate[];
  const activation = (darts.activationCandidates ?? spaceActivation.filter((a): a is Activation => (ACTIVATIONS as readonly string[]).includes(a))) as Activation[];
  for (const a of attention) if (!spaceAttention.includes(a)) throw new TrialError(`attentionCandidates: '${a}' is not an attention kind of space ${space.id}`);
  for (const a of activation) if (!spaceActivation.includes(a)) throw new TrialError(`activationCandidates: '${a}' is not an activation of space ${space.id}`);
  if (attention.length + (darts.allowNone ? 1 : 0) < 1 || activation.length < 1) throw new TrialError("DARTS needs at least one candidate per decision");

  // The base as an architecture of the space: its relaxed decisions filled with the first candidates.
  const base: Architecture = {
    ...(raw as Architecture),
    layers: Array.from({ length: nLayers }, () => ({ attention: attention[0] ?? "full", activation: activation[0]!, window, stride })),
  };
  const issues = space.validate(space.canonical(base));
  if (issues.length) throw new TrialError(`baseArchitecture is not valid in space ${space.id}: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);
  // Window and stride must be options of the space, or derived architectures with them would be invalid.
  for (const [kind, key, value] of [["local", "window", window], ["strided", "stride", stride]] as const) {
    if (!attention.includes(kind)) continue;
    const probeArch = space.canonical({ ...base, layers: (base.layers as Array<Record<string, string | number>>).map((l) => ({ ...l, attention: kind })) });
    const bad = space.validate(probeArch);
    if (bad.length) throw new TrialError(`${key} ${value} of the ${kind} candidate is not valid in space ${space.id}: ${bad.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
  return { base: space.canonical(base), attention: [...attention, ...(darts.allowNone ? [NONE] : [])] as AttentionCandidate[], activation, window, stride };
}

/** Options of a per-layer decision of the space (e.g. `attention` of the `layers` repeat). */
function spaceLayerOptions(space: SearchSpace, name: string): readonly (string | number | boolean)[] {
  for (const d of space.definition.decisions) {
    if (d.type !== "repeat") continue;
    const leaf = d.decisions.find((l) => l.name === name);
    if (leaf?.type === "categorical") return leaf.values;
  }
  return [];
}

function deriveTransformer(space: SearchSpace, setup: TransformerSetup, alphas: Record<string, Record<string, number>>, top: number): DerivedArchitecture[] {
  return deriveArchitectures({
    space,
    base: setup.base,
    alphas,
    top,
    // A local or strided choice carries its window or stride (canonicalisation drops the inactive one).
    companions: (path): Record<string, number> => (path.endsWith(".attention") ? { window: setup.window, stride: setup.stride } : {}),
  });
}

/** Weight batches and α batches from disjoint data (the paper's two halves of the training split). */
export interface SearchData {
  weightBatch(rng: Rng, batch: number, length: number): TokenBatch;
  alphaBatch(rng: Rng, batch: number, length: number): TokenBatch;
}

export function splitForSearch(task: SequenceTask): SearchData {
  if (!(task instanceof CharLMTask)) return { weightBatch: (r, b, l) => task.trainBatch(r, b, l), alphaBatch: (r, b, l) => task.trainBatch(r, b, l) };
  const half = Math.floor(task.train.length / 2);
  const windows = (ids: Int32Array) => (rng: Rng, batch: number, length: number): TokenBatch => {
    const inputs = new Int32Array(batch * length);
    const targets = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const start = rng.int(ids.length - length - 1);
      inputs.set(ids.subarray(start, start + length), b * length);
      targets.set(ids.subarray(start + 1, start + length + 1), b * length);
    }
    return { batch, length, inputs, targets };
  };
  return { weightBatch: windows(task.train.subarray(0, half)), alphaBatch: windows(task.train.subarray(half)) };
}

interface BatchTensors {
  inputs: tf.Tensor2D;
  targets: tf.Tensor2D;
  weights?: tf.Tensor2D;
}

function batchTensors(b: TokenBatch): BatchTensors {
  return {
    inputs: tf.tensor2d(b.inputs, [b.batch, b.length], "int32"),
    targets: tf.tensor2d(b.targets, [b.batch, b.length], "int32"),
    ...(b.weights ? { weights: tf.tensor2d(b.weights, [b.batch, b.length]) } : {}),
  };
}

function disposeBatch(b: BatchTensors): void {
  tf.dispose([b.inputs, b.targets, ...(b.weights ? [b.weights] : [])]);
}

/** Mean loss (nats per counted token) of the supernet (dropout off) over `batches`. */
function supernetLoss(net: TransformerSupernet, batches: readonly TokenBatch[]): number {
  let nll = 0;
  let count = 0;
  for (const b of batches) {
    const n = b.weights ? b.weights.reduce((s, w) => s + w, 0) : b.batch * b.length;
    const t = batchTensors(b);
    try {
      nll += tf.tidy(() => net.loss(t.inputs, t.targets, { weights: t.weights }).dataSync()[0]!) * n;
      count += n;
    } finally {
      disposeBatch(t);
    }
  }
  return nll / Math.max(1, count);
}

function formatZod(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}


