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
export type TransformerTaskName = (typeof TRANSFORMER_TASKS)[number];

/** Config fields the Transformer trainer reads (the `train` evaluator's config for spaces of family "transformer"). */
export const transformerTrainConfigSchema = z.object({
  task: z.enum(TRANSFORMER_TASKS).default(CHARLM_TASK_ID).describe("charlm-moby-dick (default) or assoc-recall"),
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
  recall: z
    .strictObject({
      keys: z.number().int().min(1).max(26).default(16),
      values: z.number().int().min(1).max(26).default(16),
      pairs: z.number().int().min(1).max(26).default(8),
    })
    .default({ keys: 16, values: 16, pairs: 8 })
    .describe("assoc-recall only: distinct keys, distinct values, key–value pairs per sequence"),
});
export type TransformerTrainConfig = z.infer<typeof transformerTrainConfigSchema>;

/** Metrics an objective may name. */
export const TRANSFORMER_METRICS = ["val_bpc", "val_loss", "accuracy", "train_loss", "params", "flops_per_token", "tokens_per_second", "wall_time_s"] as const;

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
  samples: z.number().int().min(1).max(100_000).default(2000).describe("samples drawn to time sampling and draw the picture (2-D; mnist draws 64)"),
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
