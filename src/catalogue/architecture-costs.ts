/**
 * Costs of an architecture known before it is trained, computed from the architecture (and the evaluator's task
 * dimensions) alone, without tfjs: what a search's constraints on them can be checked against before a trial is
 * queued, so that strategies skip infeasible candidates instead of training them.
 *
 *   nasbench201: `flops` (multiply–adds for one 32×32 image) and `params`, as the benchmark counts them
 *                (src/spaces/nasbench201-cost.ts)
 *   transformer: `params`, `active_params` (used per token: with mixture-of-experts feed-forward layers the router
 *                and, token choice, the top_k experts of each token; expert choice, capacity_factor experts, the
 *                average number that process a token), `flops_per_token` (forward pass)
 *   flow:        `params`, `flops_per_sample` (forward pass ≈ 2 per weight per example)
 *
 * The values equal the metrics of the same names the trials report (tests/unit/costs.test.ts), so a constraint means
 * the same before and after training.
 */
import { flowParameterCount, parseFlowArchitecture, type FlowInput } from "../models/flows/config.js";
import { activeParameterCount, flopsPerToken, parameterCount, parseArchitecture, type ModelDims } from "../models/transformer/config.js";
import type { Architecture } from "../spaces/definition.js";
import { nb201Cost } from "../spaces/nasbench201-cost.js";
import { modelArchitecture, trainingDecisions, withTrainingDecisions } from "../spaces/training-decisions.js";
import type { SearchSpace } from "../spaces/space.js";
import { CHARLM_TASK_ID, flowTrainConfigSchema, isDensityTask, transformerTrainConfigSchema } from "./tasks.js";

/** The metrics known before training, by family of space. */
export const PRE_TRAINING_METRICS: Readonly<Record<string, readonly string[]>> = {
  nasbench201: ["flops", "params"],
  transformer: ["params", "active_params", "flops_per_token"],
  flow: ["params", "flops_per_sample"],
};

/** Characters of the Moby-Dick corpus (src/tasks/charlm.ts builds its vocabulary from the text; a test checks this). */
export const CHARLM_VOCABULARY_SIZE = 83;

/** The metrics of `space`'s family that are known before training (empty for other families). */
export function preTrainingMetrics(space: SearchSpace): readonly string[] {
  return PRE_TRAINING_METRICS[space.family] ?? [];
}

/** The pre-training costs of one architecture, by metric; undefined where they cannot be known. */
export type CostModel = (architecture: Architecture) => Record<string, number> | undefined;

/**
 * The pre-training costs of architectures of `space` under a search's evaluator config ({type, …options}), with the
 * options read once (strategies price many candidates per proposal). A model answers undefined where the costs
 * cannot be known: a family without a cost model, options or an architecture that do not parse (the trial itself
 * then reports the problem).
 */
export function architectureCostModel(space: SearchSpace, evaluator: Record<string, unknown>): CostModel {
  const { type: _type, ...options } = evaluator;
  const base = familyCostModel(space.family, options);
  return (architecture) => {
    try {
      // Training decisions (`train.contextLength`, …: spaces/training-decisions.ts) are this trial's options.
      if (Object.keys(trainingDecisions(architecture)).length === 0) return base?.(architecture);
      return familyCostModel(space.family, withTrainingDecisions(architecture, options))?.(modelArchitecture(architecture));
    } catch {
      return undefined;
    }
  };
}

/** The cost model of a family under one set of evaluator options (read once); undefined where none applies. */
function familyCostModel(family: string, options: Record<string, unknown>): CostModel | undefined {
  if (family === "nasbench201") return (a) => ({ ...nb201Cost(a) });
  if (family === "transformer") {
    const cfg = transformerTrainConfigSchema.safeParse(options);
    if (!cfg.success) return undefined;
    const { task, recall, contextLength } = cfg.data;
    const dims: ModelDims = { vocabSize: task === CHARLM_TASK_ID ? CHARLM_VOCABULARY_SIZE : recall.keys + recall.values, contextLength };
    return (a) => {
      const arch = parseArchitecture(a);
      const params = parameterCount(arch, dims);
      return { params, active_params: activeParameterCount(arch, dims), flops_per_token: flopsPerToken(arch, dims) };
    };
  }
  if (family === "flow") {
    const cfg = flowTrainConfigSchema.safeParse(options);
    if (!cfg.success) return undefined;
    const { task, resolution } = cfg.data;
    const input: FlowInput = isDensityTask(task) ? { dim: 2 } : { dim: resolution ** 2, image: { height: resolution, width: resolution } };
    return (a) => {
      const params = flowParameterCount(parseFlowArchitecture(a), input);
      return { params, flops_per_sample: 2 * params };
    };
  }
  return undefined;
}

/** The pre-training costs of one architecture (see architectureCostModel). */
export function architectureCosts(space: SearchSpace, architecture: Architecture, evaluator: Record<string, unknown>): Record<string, number> | undefined {
  return architectureCostModel(space, evaluator)(architecture);
}

