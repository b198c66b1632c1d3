/**
 * The multi-fidelity schedulers a search may name, as configuration only (src/schedulers/ implements them): the
 * `scheduler` field of a search request, e.g. `{"type": "asha", "minBudget": 100, "maxBudget": 2700, "eta": 3}`.
 */
import { z } from "zod";

export const ashaConfigSchema = z.object({
  type: z.literal("asha"),
  minBudget: z.number().positive().describe("budget of the first rung (training steps, epochs, …): every trial trains at least this much"),
  maxBudget: z.number().positive().describe("full budget: a trial that gets here is complete"),
  eta: z.number().min(2).max(100).default(3).describe("reduction factor: rungs are eta× apart and the top 1/eta of a rung go on (default 3)"),
});
export type AshaConfig = z.infer<typeof ashaConfigSchema>;

export const hyperbandConfigSchema = z.object({
  type: z.literal("hyperband"),
  minBudget: z.number().positive().describe("budget of the first rung of the most aggressive bracket"),
  maxBudget: z.number().positive().describe("full budget: a trial that gets here is complete"),
  eta: z.number().min(2).max(100).default(3).describe("reduction factor of every bracket (default 3)"),
});
export type HyperbandConfig = z.infer<typeof hyperbandConfigSchema>;

const budgetsInOrder = (c: { minBudget: number; maxBudget: number }) => c.maxBudget >= c.minBudget;

export const schedulerConfigSchema = z
  .discriminatedUnion("type", [
    ashaConfigSchema.describe("ASHA: asynchronous successive halving (Li et al. 2018)"),
    hyperbandConfigSchema.describe("Asynchronous Hyperband: ASHA brackets of different aggressiveness (Li et al. 2018)"),
  ])
  .refine(budgetsInOrder, { message: "maxBudget must be ≥ minBudget", path: ["maxBudget"] });
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;
