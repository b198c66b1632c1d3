/**
 * The catalogue: what a search may ask for, described without loading any implementation (no tfjs, no native
 * code), so that the API validates and documents requests at the cost of zod alone. Strategies, schedulers,
 * evaluators and their tasks each have a file here; the search spaces are the declarative files of
 * SEARCH_SPACES_DIR, loaded by src/spaces/. `checkSearch` holds the rules that tie a search's parts together.
 */
import type { SearchSpace } from "../spaces/space.js";
import { evaluatorEntry, type FieldProblem, type Objective } from "./evaluators.js";
import type { SchedulerConfig } from "./schedulers.js";
import { strategyEntry } from "./strategies.js";

export { SpaceRegistry } from "../spaces/registry.js";
export type { SearchSpace } from "../spaces/space.js";
export type { Architecture, SpaceDefinition } from "../spaces/definition.js";
export type { FieldProblem, Objective } from "./evaluators.js";

/** A search request's parts, validated one by one by their schemas (src/api/schemas.ts). */
export interface SearchRequest {
  strategy: { type: string } & Record<string, unknown>;
  evaluator: { type: string } & Record<string, unknown>;
  objective: Objective;
  scheduler?: SchedulerConfig;
}

/**
 * Whether the parts of a search fit together: the evaluator can score the space and reports the objective, the
 * strategy's options agree with each other and with the evaluator and scheduler. Returns the leaderboard task of
 * the search, or the first field at fault.
 */
export function checkSearch(space: SearchSpace, request: SearchRequest): { task: string } | { problem: FieldProblem } {
  const { type, ...evaluatorOptions } = request.evaluator;
  const evaluator = evaluatorEntry(type);
  if (!evaluator?.forSearches) return { problem: { field: "evaluator.type", message: `unknown evaluator '${type}'` } };
  if (!evaluator.metrics.includes(request.objective.metric)) {
    return { problem: { field: "objective.metric", message: `the ${type} evaluator reports ${evaluator.metrics.join(", ")}, not '${request.objective.metric}'` } };
  }
  const incompatible = evaluator.incompatibility(space, evaluatorOptions, request.objective);
  if (incompatible) return { problem: incompatible };

  const { type: strategyType, ...strategyOptions } = request.strategy;
  const strategyProblem = strategyEntry(strategyType)?.check?.(strategyOptions);
  if (strategyProblem) return { problem: strategyProblem };
  if (strategyType === "darts") {
    if (type !== "train") return { problem: { field: "evaluator.type", message: "DARTS retrains its derived architectures: it needs the train evaluator" } };
    if (request.scheduler) return { problem: { field: "scheduler", message: "DARTS trains one supernet and retrains its derived architectures fully: it takes no scheduler" } };
  }
  // Under a scheduler a trial's full budget is the scheduler's maxBudget (training steps for `train`).
  const steps = (evaluatorOptions.budget as { steps?: number } | undefined)?.steps;
  if (request.scheduler && type === "train" && steps !== undefined && steps !== request.scheduler.maxBudget) {
    return { problem: { field: "scheduler.maxBudget", message: `must equal evaluator.budget.steps (${steps}): a trial that survives every rung trains the full budget` } };
  }
  const taskOptions = request.scheduler && type === "train" ? { ...evaluatorOptions, budget: { steps: request.scheduler.maxBudget } } : evaluatorOptions;
  return { task: evaluator.task(taskOptions) };
}
