/**
 * The evaluators, as descriptions: the options a search's `evaluator` field takes (validated and documented
 * without loading tfjs), the metrics an objective may name, the leaderboard's task key of a config, and whether an
 * evaluator can score a space. The implementations are src/evaluators/ (the trainer's).
 */
import { z } from "zod";
import type { SearchSpace } from "../spaces/space.js";
import { dartsOptions } from "./strategies.js";
import {
  datasetObjectiveIncompatibility,
  FLOW_METRICS,
  FLOW_TASKS,
  flowObjectiveIncompatibility,
  flowTrainConfigSchema,
  TRANSFORMER_METRICS,
  TRANSFORMER_TASKS,
  transformerObjectiveIncompatibility,
  transformerTrainConfigSchema,
  type FlowTaskName,
  type TransformerTaskName,
} from "./tasks.js";

export interface Objective {
  metric: string;
  direction: "minimize" | "maximize";
}

/** Where a request is at fault and why, answered as a 400 naming the field. */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface EvaluatorEntry<Schema extends z.ZodObject = z.ZodObject> {
  type: string;
  description: string;
  /** zod schema of the evaluator's options, `type` excluded. */
  options: Schema;
  /** Metrics an objective may name. */
  metrics: readonly string[];
  /** False for an evaluator that only runs jobs a strategy asks for (DARTS' supernet), never a search's trials. */
  forSearches: boolean;
  /** The leaderboard groups trials by (space, task, metric): the task identity of a config, e.g. "cifar10". */
  task(options: z.infer<Schema>): string;
  /** Why this evaluator cannot score architectures of `space` with these options and objective (undefined if it can). */
  incompatibility(space: SearchSpace, options: z.infer<Schema>, objective: Objective): FieldProblem | undefined;
}

const define = <Schema extends z.ZodObject>(entry: EvaluatorEntry<Schema>) => entry;

export const benchmarkOptions = z.object({
  dataset: z.enum(["cifar10"]).default("cifar10").describe("benchmark table to look up; cifar10 reads NASBENCH201_CSV (default cifar10)"),
  latencyMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(0)
    .describe("simulated training time per trial in ms (default 0): lets a pipeline be exercised with trials that take time, as real ones do"),
  curveNoise: z
    .number()
    .min(0)
    .max(100)
    .default(2)
    .describe("under a multi-fidelity scheduler: spread σ0 of the simulated learning curve at the smallest budget, in accuracy points (default 2; see src/evaluators/simulated-curve.ts)"),
});
export type BenchmarkOptions = z.infer<typeof benchmarkOptions>;

/** What the `train` evaluator trains per family of space: its tasks, its trainer's options and its objectives. */
interface TrainFamily {
  tasks: readonly string[];
  schema: z.ZodObject;
  objectiveIncompatibility(task: string, metric: string): string | undefined;
}

export const TRAIN_FAMILIES: Record<string, TrainFamily> = {
  transformer: {
    tasks: TRANSFORMER_TASKS,
    schema: transformerTrainConfigSchema,
    objectiveIncompatibility: (task, metric) => transformerObjectiveIncompatibility(task as TransformerTaskName, metric),
  },
  flow: {
    tasks: FLOW_TASKS,
    schema: flowTrainConfigSchema,
    objectiveIncompatibility: (task, metric) => flowObjectiveIncompatibility(task as FlowTaskName, metric),
  },
};

/** A field's schema without its default, so that the family that trains a trial decides the default. */
function withoutDefault(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodDefault ? withoutDefault(schema.unwrap() as z.ZodType) : schema;
}

// The `train` request accepts the union of the families' fields without their defaults; each family validates and
// completes it with its own schema (incompatibility() at the API, the family's trainer at run time). A field keeps
// its families' descriptions (each with its default), named by family where it is not every family's or differs.
const trainFields: Record<string, z.ZodType> = {};
const trainDescriptions: Record<string, Array<{ family: string; text: string }>> = {};
for (const [familyName, family] of Object.entries(TRAIN_FAMILIES)) {
  for (const [name, schema] of Object.entries(family.schema.shape)) {
    trainFields[name] ??= withoutDefault(schema as z.ZodType).optional();
    const text = (schema as z.ZodType).description;
    if (text) (trainDescriptions[name] ??= []).push({ family: familyName, text });
  }
}
for (const [name, texts] of Object.entries(trainDescriptions)) {
  const families = Object.keys(TRAIN_FAMILIES);
  const same = texts.length === families.length && texts.every((t) => t.text === texts[0]!.text);
  trainFields[name] = trainFields[name]!.describe(same ? texts[0]!.text : texts.map((t) => `${t.family} spaces: ${t.text}`).join("; "));
}
const ALL_TASKS = [...new Set(Object.values(TRAIN_FAMILIES).flatMap((f) => f.tasks))] as [string, ...string[]];

export const trainOptions = z.strictObject({
  ...trainFields,
  task: z
    .enum(ALL_TASKS)
    .optional()
    .describe(`task to train on: ${Object.entries(TRAIN_FAMILIES).map(([f, d]) => `${d.tasks.join(", ")} (${f} spaces)`).join("; ")}; required unless \`dataset\` is given`),
  dataset: z
    .string()
    .regex(/^ds_[0-9a-f]{20}$/, "must be a dataset id (ds_ and 20 hex digits)")
    .optional()
    .describe("an uploaded dataset (POST /v1/datasets) to train on in place of `task`: text for transformer spaces, vectors or images for flow spaces"),
  budget: z
    .strictObject({
      steps: z.number().int().min(1).max(1_000_000).describe("training steps"),
      seconds: z.number().positive().max(604_800).optional().describe("wall-clock limit (at most a week); training stops at whichever comes first"),
    })
    .optional()
    .describe("training budget (default: the family's, 200 steps for transformers, 1000 for flows)"),
});
export type TrainOptions = z.infer<typeof trainOptions>;

/** The options of a supernet job: the DARTS options, and the search's `train` options (what to train on). */
export const supernetOptions = dartsOptions.extend({
  train: z.record(z.string(), z.unknown()).default({}).describe("the search's train evaluator options (task, batchSize, contextLength, …)"),
});
export type SupernetOptions = z.infer<typeof supernetOptions>;

export const benchmarkEntry = define({
  type: "benchmark",
  description: "Tabular lookup in NAS-Bench-201 (metric test_accuracy, %).",
  options: benchmarkOptions,
  metrics: ["test_accuracy"],
  forSearches: true,
  task: (c) => c.dataset,
  incompatibility: (space) =>
    space.family === "nasbench201" ? undefined : { field: "evaluator.type", message: `the benchmark evaluator scores nasbench201 spaces only, not the '${space.family}' family` },
});

export const trainEntry = define({
  type: "train",
  description: "Trains each architecture with tfjs on a task (Transformer language modelling or recall; normalizing-flow density estimation) and scores it on held-out data.",
  options: trainOptions,
  metrics: [...new Set([...TRANSFORMER_METRICS, ...FLOW_METRICS])],
  forSearches: true,
  // Trials trained for different numbers of steps are not comparable: the budget is part of the leaderboard's task.
  // A dataset's search is keyed by its dataset at the API, which knows the dataset's kind (tasks.ts datasetTaskId).
  task: (c) => `${c.task ?? `dataset:${String(c.dataset)}`}@${c.budget?.steps ?? "default"}steps`,
  incompatibility(space, cfg, objective) {
    const family = TRAIN_FAMILIES[space.family];
    if (!family) return { field: "evaluator.type", message: `the train evaluator trains ${Object.keys(TRAIN_FAMILIES).join(" and ")} spaces, not '${space.family}'` };
    if (cfg.dataset !== undefined) {
      if (cfg.task !== undefined) return { field: "evaluator.dataset", message: "give either a task or a dataset, not both" };
    } else if (cfg.task === undefined) return { field: "evaluator.task", message: `required (or a dataset): use ${family.tasks.join(", ")}` };
    else if (!family.tasks.includes(cfg.task)) return { field: "evaluator.task", message: `'${cfg.task}' is not a task for ${space.family} spaces (use ${family.tasks.join(", ")})` };
    const parsed = family.schema.strict().safeParse(cfg);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { field: ["evaluator", ...issue.path].join("."), message: issue.message };
    }
    // Gradient accumulation splits each step's batch evenly (the same update as the whole batch).
    const { batchSize, microBatches } = parsed.data as { batchSize?: number; microBatches?: number };
    if (batchSize !== undefined && microBatches !== undefined && batchSize % microBatches !== 0) return { field: "evaluator.microBatches", message: `must divide batchSize (${batchSize})` };
    const metric = cfg.dataset !== undefined ? datasetObjectiveIncompatibility(space.family, undefined, objective.metric) : family.objectiveIncompatibility(cfg.task!, objective.metric);
    return metric ? { field: "objective.metric", message: metric } : undefined;
  },
});

export const supernetEntry = define({
  type: "supernet",
  description: "DARTS' supernet job: trains the supernet of a space bi-level and derives architectures (asked for by the darts strategy, never a search's evaluator).",
  options: supernetOptions,
  metrics: [],
  forSearches: false,
  task: () => "supernet",
  incompatibility: (space) =>
    TRAIN_FAMILIES[space.family] ? undefined : { field: "strategy.type", message: `DARTS supports spaces of family ${Object.keys(TRAIN_FAMILIES).join(" and ")}, not '${space.family}'` },
});

export const EVALUATOR_CATALOGUE = [benchmarkEntry, trainEntry, supernetEntry] as const;
export type EvaluatorType = (typeof EVALUATOR_CATALOGUE)[number]["type"];

export function evaluatorEntry(type: string): EvaluatorEntry | undefined {
  return (EVALUATOR_CATALOGUE as readonly EvaluatorEntry[]).find((e) => e.type === type);
}

/**
 * Request schema of a search's `evaluator`: a union discriminated by `type` over the evaluators searches may use,
 * strict (an unknown option is an error; the option schemas stay lenient for the evaluators that parse with them).
 */
export const evaluatorConfigSchema = z.discriminatedUnion(
  "type",
  EVALUATOR_CATALOGUE.filter((e) => e.forSearches).map((e) => e.options.extend({ type: z.literal(e.type) }).strict().describe(e.description)) as unknown as [
    z.ZodObject<{ type: z.ZodLiteral<string> }>,
    ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
  ],
);
/** A search's (or job's) `evaluator` as stored: its type and its options. */
export type EvaluatorConfig = { type: string } & Record<string, unknown>;
