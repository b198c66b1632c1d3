/**
 * The implementation of every scheduler of the catalogue (src/catalogue/schedulers.ts): the orchestrator creates a
 * search's scheduler here, under the search's lock, to give trials their budgets and decide their rung reports.
 */
import { schedulerConfigSchema, type SchedulerConfig } from "../catalogue/schedulers.js";
import type { JsonValue } from "../core/json.js";
import { AshaScheduler } from "./asha.js";
import { HyperbandScheduler } from "./hyperband.js";
import type { Scheduler } from "./scheduler.js";

export { schedulerConfigSchema, type SchedulerConfig };

/**
 * Creates (and, given a stored state, restores) the scheduler of a search; validates the configuration. Throws
 * StateError for a stored state the scheduler cannot read.
 */
export function createScheduler(config: SchedulerConfig, state?: JsonValue | null): Scheduler {
  const c = schedulerConfigSchema.parse(config);
  const scheduler = c.type === "asha" ? new AshaScheduler(c) : new HyperbandScheduler(c);
  if (state !== undefined && state !== null) scheduler.restore(state);
  return scheduler;
}
