/**
 * The catalogue: what a search may ask for, described without loading any implementation (no tfjs, no native
 * code), so that the API validates and documents requests at the cost of zod alone. Strategies, schedulers,
 * evaluators and their tasks each have a file here; the search spaces are the declarative files of
 * SEARCH_SPACES_DIR, loaded by src/spaces/. `checkSearch` holds the rules that tie a search's parts together.
 */
import type { Architecture } from "../spaces/definition.js";
import { architectureFromInput } from "../spaces/nasbench201.js";
import type { SearchSpace } from "../spaces/space.js";
import { preTrainingMetrics } from "./architecture-costs.js";
import { brokenLimit, trainCost, trainShape, type TrialLimits } from "./cost.js";
import { evaluatorEntry, type FieldProblem, type Objective } from "./evaluators.js";
import { checkObjectives, objectiveList, type MetricConstraint } from "./objectives.js";
import type { SchedulerConfig } from "./schedulers.js";
import { STRATEGY_CATALOGUE, strategyEntry, type StrategyEntry } from "./strategies.js";

export { SpaceRegistry } from "../spaces/registry.js";
export type { SearchSpace } from "../spaces/space.js";
export type { Architecture, SpaceDefinition } from "../spaces/definition.js";
export type { FieldProblem, Objective } from "./evaluators.js";
export { brokenLimit, trainCost, type TrialCost, type TrialLimits } from "./cost.js";
export { architectureCostModel, architectureCosts, preTrainingMetrics } from "./architecture-costs.js";
export { objectiveList, objectiveSpecOf, paretoSummary, type MetricConstraint, type ObjectiveSpec, type ParetoCandidate } from "./objectives.js";

/** A search request's parts, validated one by one by their schemas (src/api/schemas.ts). */
export interface SearchRequest {
  strategy: { type: string } & Record<string, unknown>;
  evaluator: { type: string } & Record<string, unknown>;
  /** One objective, or a list of them (multi-objective search; the first is the primary one). */
  objective: Objective | Objective[];
  constraints?: MetricConstraint[];
  referencePoint?: number[];
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
  // Objectives (one or a list) and constraints may name what the evaluator reports, or a cost known before training
  // (stored with every trial's metrics). The evaluator's answer about one objective is renamed to its field.
  const preTraining = preTrainingMetrics(space);
  const objectives = objectiveList(request.objective);
  const metricProblem = checkObjectives(request, (objective, prefix, asConstraint) => {
    if (preTraining.includes(objective.metric)) return undefined;
    if (!evaluator.metrics.includes(objective.metric)) return { field: `${prefix}.metric`, message: `the ${type} evaluator reports ${evaluator.metrics.join(", ")}, not '${objective.metric}'` };
    const p = evaluator.incompatibility(space, evaluatorOptions, objective);
    if (!p?.field.startsWith("objective.") || (asConstraint && p.field !== "objective.metric")) return undefined; // the options' own problems come below
    return { field: `${prefix}${p.field.slice("objective".length)}`, message: p.message };
  }, preTraining);
  if (metricProblem) return { problem: metricProblem };
  const incompatible = evaluator.incompatibility(space, evaluatorOptions, objectives[0]!);
  if (incompatible && !(incompatible.field === "objective.metric" && preTraining.includes(objectives[0]!.metric))) return { problem: incompatible };

  const { type: strategyType, ...strategyOptions } = request.strategy;
  if (objectives.length > 1 && strategyEntry(strategyType) && !strategyEntry(strategyType)!.multiObjective) {
    const which = STRATEGY_CATALOGUE.filter((s: StrategyEntry) => s.multiObjective).map((s) => s.type).join(" or ");
    return { problem: { field: "strategy.type", message: `${strategyType} optimises one objective; a list of objectives needs ${which}` } };
  }
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

/** A field path of the API from a space's validation path: `layers[2].window` → `layers.2.window`. */
const fieldPath = (path: string) => path.replace(/\[(\d+)\]/g, ".$1");

/**
 * The strategy's seed architectures (evolution's `seedArchitectures`) in the space's canonical JSON form, each read
 * in every form an architecture is accepted in (the JSON form; a NAS-Bench-201 space also takes the benchmark's
 * string): the strategy to store, or the first invalid seed's problem naming its decision
 * (`strategy.seedArchitectures.0.node1_from0`). A strategy without seeds is returned as it is.
 */
export function withCanonicalSeeds<S extends { type: string } & Record<string, unknown>>(space: SearchSpace, strategy: S): { strategy: S } | { problem: FieldProblem } {
  const seeds = strategy.seedArchitectures;
  if (!Array.isArray(seeds) || seeds.length === 0) return { strategy };
  const out: Architecture[] = [];
  for (const [i, seed] of seeds.entries()) {
    const field = `strategy.seedArchitectures.${i}`;
    const arch = architectureFromInput(space.family, seed);
    if (typeof arch === "string") {
      const form = space.family === "nasbench201" ? "the space's JSON form or the benchmark's string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|" : "the space's JSON form (an object of decisions)";
      return { problem: { field, message: `not an architecture of ${space.id}: expected ${form}, got ${JSON.stringify(arch.slice(0, 80))}` } };
    }
    const issues = space.validate(arch);
    if (issues.length) {
      const first = issues[0]!;
      return { problem: { field: first.path ? `${field}.${fieldPath(first.path)}` : field, message: `not an architecture of ${space.id}: ${issues.map((x) => `${x.path || "(root)"}: ${x.message}`).join("; ")}` } };
    }
    out.push(space.canonical(arch as Architecture));
  }
  return { strategy: { ...strategy, seedArchitectures: out } };
}

/** The settings that bound a search (src/config.ts). */
export interface SearchLimits extends TrialLimits {
  MAX_TRIALS_PER_SEARCH: number;
  MAX_PARALLEL_PER_SEARCH: number;
}

/**
 * The first bound a search request breaks: its budget, or, for the `train` evaluator, the steps and tokens per step
 * of its options and the cost of any architecture it gives (evolution's seeds). The problem names the setting.
 */
export function checkLimits(space: SearchSpace, request: SearchRequest & { budget: { maxTrials: number; maxParallel: number } }, limits: SearchLimits): FieldProblem | undefined {
  if (request.budget.maxTrials > limits.MAX_TRIALS_PER_SEARCH) return { field: "budget.maxTrials", message: `at most MAX_TRIALS_PER_SEARCH = ${limits.MAX_TRIALS_PER_SEARCH}` };
  if (request.budget.maxParallel > limits.MAX_PARALLEL_PER_SEARCH) return { field: "budget.maxParallel", message: `at most MAX_PARALLEL_PER_SEARCH = ${limits.MAX_PARALLEL_PER_SEARCH}` };
  const { type, ...options } = request.evaluator;
  if (type !== "train") return undefined;
  const steps = request.scheduler?.maxBudget;
  const shape = trainShape(space, options, steps);
  const broken = shape && brokenLimit(shape, limits);
  if (broken) return { field: broken.limit === "MAX_TRIAL_STEPS" ? (steps !== undefined ? "scheduler.maxBudget" : "evaluator.budget.steps") : "evaluator.batchSize", message: broken.message };
  const seeds = (request.strategy as { seedArchitectures?: Architecture[] }).seedArchitectures ?? [];
  for (const [i, seed] of seeds.entries()) {
    const issues = space.validate(seed);
    if (issues.length) return { field: `strategy.seedArchitectures.${i}`, message: `not an architecture of ${space.id}: ${issues.map((x) => `${x.path || "(root)"}: ${x.message}`).join("; ")}` };
    const cost = trainCost(space, seed, options, steps);
    const tooBig = cost && brokenLimit(cost, limits);
    if (tooBig) return { field: `strategy.seedArchitectures.${i}`, message: tooBig.message };
  }
  return undefined;
}
