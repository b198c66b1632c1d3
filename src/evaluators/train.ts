/**
 * The `train` evaluator: builds the trial's architecture with tfjs, trains it on the configured task and scores it
 * (see train-transformer.ts and train-flow.ts, one per family of search space). The request names the task and the
 * budget; every other field has a per-family default, so the config accepted here is the union of the families'
 * fields without defaults, and each family validates and completes it with its own schema.
 */
import { z } from "zod";
import type { Config as AppConfig } from "../config.js";
import { currentBackend } from "../models/backend.js";
import { defineEvaluator, TrialError, type EvaluationContext, type EvaluationRequest, type EvaluationResult, type Evaluator } from "./evaluator.js";
import { FLOW_METRICS, FLOW_TASKS, flowObjectiveIncompatibility, flowTrainConfigSchema, runFlowTrial, type FlowTaskName } from "./train-flow.js";
import { ThreadedEvaluator } from "./training-thread.js";
import { runTransformerTrial, TRANSFORMER_METRICS, TRANSFORMER_TASKS, transformerObjectiveIncompatibility, transformerTrainConfigSchema, type TransformerTaskName } from "./train-transformer.js";

interface Family {
  tasks: readonly string[];
  schema: z.ZodObject;
  objectiveIncompatibility(task: string, metric: string): string | undefined;
  run(request: EvaluationRequest, ctx: EvaluationContext): Promise<EvaluationResult>;
}

const FAMILIES: Record<string, Family> = {
  transformer: {
    tasks: TRANSFORMER_TASKS,
    schema: transformerTrainConfigSchema,
    objectiveIncompatibility: (task, metric) => transformerObjectiveIncompatibility(task as TransformerTaskName, metric),
    run: runTransformerTrial,
  },
  flow: {
    tasks: FLOW_TASKS,
    schema: flowTrainConfigSchema,
    objectiveIncompatibility: (task, metric) => flowObjectiveIncompatibility(task as FlowTaskName, metric),
    run: runFlowTrial,
  },
};

/** A field's schema without its default, so that the family that trains a trial decides the default. */
function withoutDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault ? withoutDefault(schema.unwrap() as z.ZodType) : schema;
}

const fields: Record<string, z.ZodType> = {};
for (const family of Object.values(FAMILIES)) {
  for (const [name, schema] of Object.entries(family.schema.shape)) fields[name] ??= withoutDefault(schema as z.ZodType).optional();
}
const ALL_TASKS = [...new Set(Object.values(FAMILIES).flatMap((f) => f.tasks))] as [string, ...string[]];

const config = z.strictObject({
  ...fields,
  task: z.enum(ALL_TASKS).describe(`task to train on: ${Object.entries(FAMILIES).map(([f, d]) => `${d.tasks.join(", ")} (${f} spaces)`).join("; ")}`),
  budget: z
    .strictObject({
      steps: z.number().int().min(1).max(1_000_000).describe("training steps"),
      seconds: z.number().positive().optional().describe("wall-clock limit; training stops at whichever comes first"),
    })
    .optional()
    .describe("training budget (default: the family's, 200 steps for transformers, 1000 for flows)"),
});
type TrainConfig = z.infer<typeof config>;

function familyOf(family: string): Family | undefined {
  return FAMILIES[family];
}

/** Trains one trial in this thread (training threads call this; see training-thread.ts). */
export function runTrainTrial(request: EvaluationRequest, ctx: EvaluationContext): Promise<EvaluationResult> {
  const family = familyOf(request.space.family);
  if (!family) throw new TrialError(`the train evaluator cannot train '${request.space.family}' spaces`);
  return family.run(request, ctx);
}

/**
 * In training threads unless the trainer runs tfjs-node, whose memory is native and freed (a wasm heap is not),
 * and whose native module is not meant to be loaded once per thread.
 */
function createTrainEvaluator(appConfig: AppConfig): Evaluator<TrainConfig> {
  const backend = currentBackend();
  if (backend === "tensorflow" || backend === "tensorflow-gpu") return { evaluate: runTrainTrial };
  return new ThreadedEvaluator(appConfig.TRAINER_RECYCLE_HEAP_MB * 2 ** 20);
}

export const trainEvaluator = defineEvaluator({
  type: "train",
  description: "Trains each architecture with tfjs on a task (Transformer language modelling or recall; normalizing-flow density estimation) and scores it on held-out data.",
  config,
  metrics: [...new Set([...TRANSFORMER_METRICS, ...FLOW_METRICS])],
  // Trials trained for different numbers of steps are not comparable: the budget is part of the leaderboard's task.
  task: (c) => `${c.task}@${c.budget?.steps ?? "default"}steps`,
  incompatibility(space, cfg, objective) {
    const family = familyOf(space.family);
    if (!family) return { field: "evaluator.type", message: `the train evaluator trains ${Object.keys(FAMILIES).join(" and ")} spaces, not '${space.family}'` };
    if (!family.tasks.includes(cfg.task)) return { field: "evaluator.task", message: `'${cfg.task}' is not a task for ${space.family} spaces (use ${family.tasks.join(", ")})` };
    const parsed = family.schema.strict().safeParse(cfg);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { field: ["evaluator", ...issue.path].join("."), message: issue.message };
    }
    const metric = family.objectiveIncompatibility(cfg.task, objective.metric);
    return metric ? { field: "objective.metric", message: metric } : undefined;
  },
  create: createTrainEvaluator,
});
