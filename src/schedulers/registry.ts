/**
 * The multi-fidelity schedulers a search may use, by `type`. The API validates a search's `scheduler` field with
 * `schedulerConfigSchema`; the orchestrator and trainers create the scheduler with `createScheduler`.
 */
import { z } from "zod";
import { AshaScheduler, ashaConfigSchema } from "./asha.js";
import { HyperbandScheduler, hyperbandConfigSchema } from "./hyperband.js";
import type { JsonValue } from "../strategies/strategy.js";
import type { Scheduler } from "./scheduler.js";

const budgetsInOrder = (c: { minBudget: number; maxBudget: number }) => c.maxBudget >= c.minBudget;

/** Request schema of `scheduler`, e.g. `{"type": "asha", "minBudget": 100, "maxBudget": 2700, "eta": 3}`. */
export const schedulerConfigSchema = z
  .discriminatedUnion("type", [
    ashaConfigSchema.describe("ASHA: asynchronous successive halving (Li et al. 2018)"),
    hyperbandConfigSchema.describe("Asynchronous Hyperband: ASHA brackets of different aggressiveness (Li et al. 2018)"),
  ])
  .refine(budgetsInOrder, { message: "maxBudget must be ≥ minBudget", path: ["maxBudget"] });
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

/** Creates (and, given a stored state, restores) the scheduler of a search; validates the configuration. */
export function createScheduler(config: SchedulerConfig, state?: JsonValue | null): Scheduler {
  const c = schedulerConfigSchema.parse(config);
  const scheduler = c.type === "asha" ? new AshaScheduler(c) : new HyperbandScheduler(c);
  if (state !== undefined && state !== null) scheduler.restore(state);
  return scheduler;
}
