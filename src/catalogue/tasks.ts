/**
 * The built-in tasks a `train` evaluator trains on, by family of search space, with the options of each family's
 * trainer (every field documents its default), the metrics its trials report and which of them may be an
 * objective. Light: zod only; the tasks themselves (data, batches) are src/tasks/, the trainers src/evaluators/.
 */
import { z } from "zod";

export const CHARLM_TASK_ID = "charlm-moby-dick";
export const RECALL_TASK_ID = "assoc-recall";
/** The 2-D densities of src/tasks/densities.ts. */
export const DENSITY_TASKS = ["8gaussians", "checkerboard", "two-moons", "pinwheel", "2spirals"] as const;
export type DensityTaskName = (typeof DENSITY_TASKS)[number];
/** Tasks whose true entropy is known (so a `gap_nats` objective is available). */
export const KNOWN_ENTROPY_TASKS: readonly DensityTaskName[] = ["8gaussians", "checkerboard", "two-moons"];

export function isDensityTask(name: string): name is DensityTaskName {
  return (DENSITY_TASKS as readonly string[]).includes(name);
}

export const TRANSFORMER_TASKS = [CHARLM_TASK_ID, RECALL_TASK_ID] as const;

/**
 * Uploaded datasets (src/datasets/, /v1/datasets) as tasks: a `train` evaluator takes `dataset: "<id>"` in place of
 * `task`, and the dataset's kind decides the task. The catalogue cannot read the database: the API looks the dataset
 * up and asks `datasetIncompatibility` whether it fits the search.
 */
const datasetOption = z.string().regex(/^ds_[0-9a-f]{20}$/, "must be a dataset id (ds_ and 20 hex digits)").optional();
export type DatasetKindName = "text" | "vectors" | "images";
/** The kinds of dataset each family of space trains on. */
export const DATASET_KINDS_OF_FAMILY: Record<string, readonly DatasetKindName[]> = { transformer: ["text"], flow: ["vectors", "images"] };
const DATASET_TASK_PREFIX: Record<DatasetKindName, string> = { text: "charlm", vectors: "vectors", images: "images" };

/** The task id of a dataset (`charlm:<id>`, `vectors:<id>`, `images:<id>`): the task carries the dataset's identity. */
export function datasetTaskId(kind: DatasetKindName, id: string): string {
  return `${DATASET_TASK_PREFIX[kind]}:${id}`;
}

/** Why `metric` cannot be an objective of a search of `family` on a dataset of `kind` (any kind of the family when undefined). */
export function datasetObjectiveIncompatibility(family: string, kind: DatasetKindName | undefined, metric: string): string | undefined {
  if (family === "transformer") return metric === "accuracy" ? "accuracy is reported for assoc-recall only, not for text datasets" : transformerObjectiveIncompatibility(CHARLM_TASK_ID, metric);
  if (metric === "gap_nats") return "gap_nats needs a task with a known entropy (8gaussians, checkerboard, two-moons), not an uploaded dataset";
  if (metric === "bits_per_dim" && kind === "vectors") return "bits_per_dim is reported for images datasets (and mnist), not for vectors";
  return flowObjectiveIncompatibility("mnist", metric);
}

/** What the API knows of a dataset a search names. */
export interface DatasetFacts {
  id: string;
  kind: DatasetKindName;
  /** Characters (text) or rows (vectors, images) of its smallest held-out split (validation or test). */
  heldOut: number;
}

/**
 * Why a search of `family` cannot train on `dataset` with these `train` options and objective metrics (undefined if
 * it can): its kind must be one the family trains on, every objective one it reports, and a text dataset's held-out
 * splits longer than a context window.
 */
export function datasetIncompatibility(family: string, dataset: DatasetFacts, options: Record<string, unknown>, metrics: readonly string[]): { field: string; message: string } | undefined {
  const kinds = DATASET_KINDS_OF_FAMILY[family] ?? [];
  if (!kinds.includes(dataset.kind)) {
    return { field: "evaluator.dataset", message: `dataset ${dataset.id} is ${dataset.kind} data; ${family} spaces train on ${kinds.length ? kinds.join(" or ") : "no"} datasets` };
  }
  for (const [i, metric] of metrics.entries()) {
    const why = datasetObjectiveIncompatibility(family, dataset.kind, metric);
    if (why) return { field: metrics.length > 1 ? `objective.${i}.metric` : "objective.metric", message: why };
  }
  if (dataset.kind === "text") {
    const contextLength = typeof options.contextLength === "number" ? options.contextLength : 64;
    if (contextLength + 2 > dataset.heldOut) {
      return { field: "evaluator.contextLength", message: `${contextLength} is too long for dataset ${dataset.id}: its validation and test text are ${dataset.heldOut} characters each` };
    }
  }
  return undefined;
}
export type TransformerTaskName = (typeof TRANSFORMER_TASKS)[number];

/** Config fields the Transformer trainer reads (the `train` evaluator's config for spaces of family "transformer"). */
export const transformerTrainConfigSchema = z.object({
  task: z.enum(TRANSFORMER_TASKS).default(CHARLM_TASK_ID).describe("charlm-moby-dick (default) or assoc-recall"),
  dataset: datasetOption.describe("an uploaded text dataset (its id, ds_…) to train on instead of a built-in task: character language modelling on it"),
  budget: z
    .object({
      steps: z.number().int().min(1).max(1_000_000).default(200).describe("training steps (default 200)"),
      seconds: z.number().positive().max(604_800).optional().describe("wall-clock limit on training steps (at most a week); training stops at whichever comes first"),
    })
    .default({ steps: 200 }),
  batchSize: z.number().int().min(1).max(1024).default(12).describe("sequences per step (default 12)"),
  contextLength: z.number().int().min(4).max(2048).default(64).describe("tokens per sequence (default 64)"),
  learningRate: z.number().positive().max(1).default(1e-3).describe("peak learning rate of AdamW (default 1e-3)"),
  minLearningRate: z.number().min(0).max(1).optional().describe("learning rate at the end of the cosine decay (default learningRate / 10)"),
  warmupSteps: z.number().int().min(0).max(1_000_000).optional().describe("linear warm-up steps (default: 10% of the steps, at most 100)"),
  weightDecay: z.number().min(0).max(1).default(0.1).describe("AdamW decoupled weight decay on matrices and embeddings (default 0.1)"),
  beta2: z.number().min(0).max(1).default(0.99).describe("AdamW β₂ (default 0.99)"),
  clipNorm: z.number().min(0).max(1e6).default(1).describe("gradient clipping by global norm, 0 = off (default 1)"),
  evalEvery: z.number().int().min(1).max(1_000_000).optional().describe("validation every this many steps (default: 4 times per run, and after the last step)"),
  logEvery: z.number().int().min(1).max(1_000_000).default(10).describe("training loss reported every this many steps (default 10)"),
  evalSequences: z.number().int().min(1).max(4096).default(64).describe("sequences of the fixed evaluation set (default 64)"),
  sampleLength: z.number().int().min(0).max(2000).default(200).describe("characters generated for the `sample` metric (default 200)"),
  sampleTemperature: z.number().positive().max(100).default(0.8).describe("sampling temperature (default 0.8)"),
  moeAuxWeight: z
    .number()
    .min(0)
    .max(10)
    .default(0.01)
    .describe("weight of the Switch load-balancing loss of token-choice mixture-of-experts layers in the training loss, summed over layers (default 0.01; 0 = off)"),
  microBatches: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(1)
    .describe(
      "gradient accumulation: each step's batch is split into this many micro-batches whose gradients are averaged before one update, the same update as the whole batch (for dense models without dropout, to float rounding) with about 1/microBatches of the activation memory; batchSize must be a multiple (default 1)",
    ),
  recompute: z
    .boolean()
    .default(false)
    .describe("activation recomputation: keep only each block's input in the forward pass and recompute the block in the backward pass; the same gradients for about a third more compute and far less activation memory (default false)"),
  recall: z
    .strictObject({
      keys: z.number().int().min(1).max(26).default(16).describe("distinct keys, letters a… (default 16)"),
      values: z.number().int().min(1).max(26).default(16).describe("distinct values (default 16)"),
      pairs: z.number().int().min(1).max(26).default(8).describe("key–value pairs per sequence (default 8)"),
    })
    .default({ keys: 16, values: 16, pairs: 8 })
    .describe("assoc-recall only: distinct keys, distinct values, key–value pairs per sequence (default 16, 16, 8)"),
});
export type TransformerTrainConfig = z.infer<typeof transformerTrainConfigSchema>;

/**
 * Metrics an objective may name. `active_params`: the parameters a token is computed with (all of a dense model's;
 * mixture-of-experts layers count the router and the experts a token is routed to); `dropped_fraction`: tokens
 * no expert processed, on the final evaluation (0 for dense trials). Mixture-of-experts trials also report, not as
 * objectives (dense trials have no experts), `expert_load` (each expert's share of the token–expert pairs, mean over
 * layers; sums to 1), `expert_load_by_layer`, `expert_load_max` (the largest share × E over layers: 1 = balanced)
 * and `expert_load_cv` (coefficient of variation of the shares, mean over layers).
 * `micro_batches`, `recompute` and `estimated_memory_mb` tell how a trial was trained (TRAIN_MEMORY_LIMIT_MB).
 */
export const TRANSFORMER_METRICS = [
  "val_bpc",
  "val_loss",
  "accuracy",
  "train_loss",
  "params",
  "active_params",
  "flops_per_token",
  "tokens_per_second",
  "wall_time_s",
  "dropped_fraction",
  "estimated_memory_mb",
] as const;

/** Why `metric` cannot be an objective for `task` (undefined when it can). */
export function transformerObjectiveIncompatibility(task: TransformerTaskName, metric: string): string | undefined {
  if (!(TRANSFORMER_METRICS as readonly string[]).includes(metric)) return `transformer trials do not report '${metric}' (they report ${TRANSFORMER_METRICS.join(", ")})`;
  if (metric === "accuracy" && task !== RECALL_TASK_ID) return "accuracy is reported for assoc-recall only";
  return undefined;
}

export const FLOW_TASKS = [...DENSITY_TASKS, "mnist"] as const;
export type FlowTaskName = (typeof FLOW_TASKS)[number];

/** Config fields the flow trainer reads (the `train` evaluator's config for spaces of family "flow"). */
export const flowTrainConfigSchema = z.object({
  task: z.enum(FLOW_TASKS).default("8gaussians").describe("2-D density (8gaussians, checkerboard, two-moons, pinwheel, 2spirals) or mnist (default 8gaussians)"),
  dataset: datasetOption.describe("an uploaded vectors or images dataset (its id, ds_…) to train on instead of a built-in task: density estimation on its rows"),
  budget: z
    .object({
      steps: z.number().int().min(1).max(1_000_000).default(1000).describe("training steps (default 1000)"),
      seconds: z.number().positive().max(604_800).optional().describe("wall-clock limit on training steps (at most a week); training stops at whichever comes first"),
    })
    .default({ steps: 1000 }),
  batchSize: z.number().int().min(1).max(8192).default(256).describe("examples per step (default 256)"),
  learningRate: z.number().positive().max(1).optional().describe("peak learning rate of AdamW (default 1e-2 for the 2-D tasks, 1e-3 for mnist)"),
  schedule: z.enum(["cosine", "constant"]).default("cosine").describe("cosine: 5% linear warm-up then cosine decay to lr/20 over the steps, or over budget.seconds if that runs out first (default); constant"),
  weightDecay: z.number().min(0).max(1).default(0).describe("AdamW decoupled weight decay on matrices (default 0)"),
  clipNorm: z.number().min(0).max(1e6).default(10).describe("gradient clipping by global norm, 0 = off (default 10)"),
  evalEvery: z.number().int().min(1).max(1_000_000).optional().describe("validation every this many steps (default: 10 times per run)"),
  dataSeed: z.number().int().min(0).max(2 ** 31 - 1).default(0).describe("seed of the 2-D datasets; the same for all trials of a search (default 0)"),
  resolution: z.union([z.literal(14), z.literal(28)]).default(14).describe("mnist only: 14 (downsampled, 196 dims, default) or 28 (784 dims)"),
  samples: z.number().int().min(1).max(100_000).default(2000).describe("samples drawn to time sampling and draw the pictures (2-D; mnist draws 64) (default 2000)"),
});
export type FlowTrainConfig = z.infer<typeof flowTrainConfigSchema>;

/** Metrics an objective may name, and which tasks report them. */
export const FLOW_METRICS = ["gap_nats", "test_nll", "val_nll", "bits_per_dim", "params", "training_time_s", "sampling_time_s"] as const;

/** Why `metric` cannot be an objective for `task` (undefined when it can). */
export function flowObjectiveIncompatibility(task: FlowTaskName, metric: string): string | undefined {
  if (!(FLOW_METRICS as readonly string[]).includes(metric)) return `flow trials do not report '${metric}' (they report ${FLOW_METRICS.join(", ")})`;
  if (metric === "gap_nats" && !(KNOWN_ENTROPY_TASKS as readonly string[]).includes(task)) return `gap_nats needs a task with a known entropy (8gaussians, checkerboard, two-moons), not ${task}`;
  if (metric === "bits_per_dim" && task !== "mnist") return "bits_per_dim is reported for mnist only";
  return undefined;
}
