/**
 * The multi-fidelity schedulers a search may name, as configuration only (src/schedulers/ implements them): the
 * `scheduler` field of a search request, e.g. `{"type": "asha", "minBudget": 100, "maxBudget": 2700, "eta": 3}`.
 */
import { z } from "zod";

/** Largest budget of a rung (a scheduler's budgets are training steps, epochs, …). */
const MAX_BUDGET = 1e9;
/** Most rungs a ladder may have: minBudget·eta^k below maxBudget (Hyperband has as many brackets). */
const MAX_RUNGS = 64;

export const ashaConfigSchema = z.object({
  type: z.literal("asha"),
  minBudget: z.number().positive().max(MAX_BUDGET).describe("budget of the first rung (training steps, epochs, …): every trial trains at least this much"),
  maxBudget: z.number().positive().max(MAX_BUDGET).describe("full budget: a trial that gets here is complete"),
  eta: z.number().min(2).max(100).default(3).describe("reduction factor: rungs are eta× apart and the top 1/eta of a rung go on (default 3)"),
});
export type AshaConfig = z.infer<typeof ashaConfigSchema>;

export const hyperbandConfigSchema = z.object({
  type: z.literal("hyperband"),
  minBudget: z.number().positive().max(MAX_BUDGET).describe("budget of the first rung of the most aggressive bracket"),
  maxBudget: z.number().positive().max(MAX_BUDGET).describe("full budget: a trial that gets here is complete"),
  eta: z.number().min(2).max(100).default(3).describe("reduction factor of every bracket (default 3)"),
});
export type HyperbandConfig = z.infer<typeof hyperbandConfigSchema>;

const budgetsInOrder = (c: { minBudget: number; maxBudget: number }) => c.maxBudget >= c.minBudget;
const fewRungs = (c: { minBudget: number; maxBudget: number; eta: number }) => Math.log(c.maxBudget / c.minBudget) / Math.log(c.eta) <= MAX_RUNGS;

/** A search's `scheduler`; strict, like every option object of a request: an unknown key is an error. */
export const schedulerConfigSchema = z
  .discriminatedUnion("type", [
    ashaConfigSchema.strict().describe("ASHA: asynchronous successive halving (Li et al. 2018)"),
    hyperbandConfigSchema.strict().describe("Asynchronous Hyperband: ASHA brackets of different aggressiveness (Li et al. 2018)"),
  ])
  .refine(budgetsInOrder, { message: "maxBudget must be ≥ minBudget", path: ["maxBudget"] })
  .refine(fewRungs, { message: `at most ${MAX_RUNGS} rungs: maxBudget / minBudget must be ≤ eta^${MAX_RUNGS}`, path: ["minBudget"] });
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;
