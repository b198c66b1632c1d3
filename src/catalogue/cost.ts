/**
 * What training one architecture costs, from the architecture and the evaluator's options alone (no model is
 * built, no tfjs): parameters, tokens (or examples × dimensions) per step, steps and estimated training FLOPs.
 * The API refuses absurd options and user-given architectures with it before a search is stored, and the
 * orchestrator checks every proposed architecture with it before the trial is queued, so that a trial too large
 * for the service is refused, not discovered as an out-of-memory crash.
 */
import { flowParameterCount, parseFlowArchitecture, type FlowInput } from "../models/flows/config.js";
import { flopsPerToken, parameterCount, parseArchitecture } from "../models/transformer/config.js";
import type { Architecture } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";
import { withTrainingDecisions } from "../spaces/training-decisions.js";
import { CHARLM_TASK_ID, flowTrainConfigSchema, isDensityTask, transformerTrainConfigSchema } from "./tasks.js";

export interface TrialCost {
  params: number;
  /** Sequence length × batch for transformers; examples × dimensions for flows. */
  tokensPerStep: number;
  steps: number;
  /** Estimated training FLOPs: forward and backward, ≈ 3 × the forward pass, over every step. */
  flops: number;
}

/** Characters of the char-LM corpus bounded above (its vocabulary is built from the text: 83 for Moby-Dick). */
const CHARLM_VOCABULARY_BOUND = 256;

/** The limits a trial of the `train` evaluator must keep (settings of src/config.ts). */
export interface TrialLimits {
  MAX_TRIAL_PARAMS: number;
  MAX_TRIAL_STEPS: number;
  MAX_TRIAL_TOKENS_PER_STEP: number;
}

/**
 * The cost of training `architecture` of `space` with the `train` evaluator's `options` (`steps` overrides the
 * options' budget, as a scheduler's maxBudget does). Throws (a zod error) for options or an architecture that do
 * not parse; undefined for a family the train evaluator does not train.
 */
export function trainCost(space: SearchSpace, architecture: Architecture, options: Record<string, unknown>, steps?: number): TrialCost | undefined {
  // The architecture's training decisions (train.batchSize, train.steps, …) are the options this trial trains with.
  const shape = trainShape(space, withTrainingDecisions(architecture, options), steps);
  if (!shape) return undefined;
  if (shape.family === "transformer") {
    const arch = parseArchitecture(architecture);
    return { ...shape, params: parameterCount(arch, shape.dims), flops: 3 * flopsPerToken(arch, shape.dims) * shape.tokensPerStep * shape.steps };
  }
  const params = flowParameterCount(parseFlowArchitecture(architecture), shape.input);
  // A coupling flow's forward pass is ≈ 2 FLOPs per weight per example; backward twice that.
  return { ...shape, params, flops: 6 * params * shape.batchSize * shape.steps };
}

type Shape =
  | { family: "transformer"; tokensPerStep: number; steps: number; dims: { vocabSize: number; contextLength: number } }
  | { family: "flow"; tokensPerStep: number; steps: number; input: FlowInput; batchSize: number };

/**
 * The training steps a trial of the `train` evaluator runs: its options with its architecture's training decisions
 * (`train.steps`), the family's default otherwise. Undefined for a family the train evaluator does not train, or
 * options that do not parse. (What GET /v1/searches/:id/trials shows as a trial's `budgetSteps`.)
 */
export function plannedTrainSteps(family: string, architecture: Architecture, options: Record<string, unknown>): number | undefined {
  try {
    return trainShape({ family }, withTrainingDecisions(architecture, options))?.steps;
  } catch {
    return undefined;
  }
}

/** What a trial of the `train` evaluator processes per step, and how many steps, from its options alone. */
export function trainShape(space: Pick<SearchSpace, "family">, options: Record<string, unknown>, steps?: number): Shape | undefined {
  if (space.family === "transformer") {
    const cfg = transformerTrainConfigSchema.parse(options);
    const vocabSize = cfg.task === CHARLM_TASK_ID ? CHARLM_VOCABULARY_BOUND : cfg.recall.keys + cfg.recall.values;
    return { family: "transformer", tokensPerStep: cfg.batchSize * cfg.contextLength, steps: steps ?? cfg.budget.steps, dims: { vocabSize, contextLength: cfg.contextLength } };
  }
  if (space.family === "flow") {
    const cfg = flowTrainConfigSchema.parse(options);
    const input: FlowInput = isDensityTask(cfg.task) ? { dim: 2 } : { dim: cfg.resolution ** 2, image: { height: cfg.resolution, width: cfg.resolution } };
    return { family: "flow", tokensPerStep: cfg.batchSize * input.dim, steps: steps ?? cfg.budget.steps, input, batchSize: cfg.batchSize };
  }
  return undefined;
}

/** The first limit a trial of this cost (or shape, before an architecture is known) breaks, or undefined. */
export function brokenLimit(cost: Pick<TrialCost, "tokensPerStep" | "steps"> & { params?: number }, limits: TrialLimits): { limit: keyof TrialLimits; message: string } | undefined {
  if (cost.params !== undefined && cost.params > limits.MAX_TRIAL_PARAMS) return { limit: "MAX_TRIAL_PARAMS", message: `${cost.params} parameters exceed MAX_TRIAL_PARAMS = ${limits.MAX_TRIAL_PARAMS}` };
  if (cost.steps > limits.MAX_TRIAL_STEPS) return { limit: "MAX_TRIAL_STEPS", message: `${cost.steps} training steps exceed MAX_TRIAL_STEPS = ${limits.MAX_TRIAL_STEPS}` };
  if (cost.tokensPerStep > limits.MAX_TRIAL_TOKENS_PER_STEP) {
    return { limit: "MAX_TRIAL_TOKENS_PER_STEP", message: `${cost.tokensPerStep} tokens per step (batch × sequence length, or × dimensions) exceed MAX_TRIAL_TOKENS_PER_STEP = ${limits.MAX_TRIAL_TOKENS_PER_STEP}` };
  }
  return undefined;
}
