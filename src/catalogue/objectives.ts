/**
 * A search's objectives and constraints: what they may name, how a trial's metrics become the vector of scores
 * strategies rank by, how much a trial breaks the constraints, and the reference point its hypervolume is measured
 * against. Light (no implementation is loaded): the API validates and reports with it, the orchestrator tells
 * strategies with it.
 *
 * - `objective` is one {metric, direction} or a list of them (at most MAX_OBJECTIVES); the first is the *primary*
 *   objective: the trial's `objective` column, the single-objective leaderboard and `best` are about it.
 * - `constraints: [{metric, max?, min?}]` bound any metric the evaluator reports or a cost known before training
 *   (catalogue/architecture-costs.ts). A constraint on a pre-training cost is checked before a trial is queued:
 *   strategies skip such candidates, and one that is proposed anyway is refused without training. A constraint on
 *   a metric measured by training makes the trial *infeasible*: it ranks behind every feasible trial (constrained
 *   domination) and is on no Pareto front.
 * - Scores are oriented so that higher is better (−value for a minimised metric), as in src/core/pareto.ts.
 */
import { hypervolume, paretoFront } from "../core/pareto.js";
import type { FieldProblem, Objective } from "./evaluators.js";
import { directionProblem } from "./metric-directions.js";

export const MAX_OBJECTIVES = 4;
export const MAX_CONSTRAINTS = 16;

/** A bound on one metric: at most `max`, at least `min` (one or both). */
export interface MetricConstraint {
  metric: string;
  max?: number;
  min?: number;
}

/** What a search optimises, as stored with it. */
export interface ObjectiveSpec {
  objectives: Objective[];
  constraints: MetricConstraint[];
  /** In the metrics' own units, one per objective; null: derived (see referencePoint). */
  referencePoint: number[] | null;
}

/** Violation of a constraint whose metric a trial did not report: large, so any measured trial ranks before it. */
export const MISSING_VIOLATION = 1e6;

/** A search's objectives as stored: the primary objective's columns, and the whole list, constraints and point. */
export interface StoredObjectives {
  objectiveMetric: string;
  objectiveDirection: string;
  objectiveList?: unknown;
  constraints?: unknown;
  referencePoint?: unknown;
}

/** What a stored search optimises (a search stored without a list has its one objective and no constraints). */
export function objectiveSpecOf(row: StoredObjectives): ObjectiveSpec {
  const objectives = Array.isArray(row.objectiveList) && row.objectiveList.length > 0 ? (row.objectiveList as Objective[]) : [{ metric: row.objectiveMetric, direction: row.objectiveDirection as Objective["direction"] }];
  return {
    objectives,
    constraints: Array.isArray(row.constraints) ? (row.constraints as MetricConstraint[]) : [],
    referencePoint: Array.isArray(row.referencePoint) ? (row.referencePoint as number[]) : null,
  };
}

/** The objectives of a request's `objective` field (one or a list), as a list. */
export function objectiveList(objective: Objective | readonly Objective[]): Objective[] {
  return Array.isArray(objective) ? [...(objective as readonly Objective[])] : [objective as Objective];
}

/** A metric's value oriented so that higher is better. */
export function orient(direction: Objective["direction"], value: number): number {
  return direction === "maximize" ? value : -value;
}

/** The finite numeric value of `metric` in `values`, or undefined. */
export function metricValue(values: Readonly<Record<string, unknown>>, metric: string): number | undefined {
  const v = values[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The objectives' values in their own units, or null when one of them is missing. */
export function objectiveValues(objectives: readonly Objective[], values: Readonly<Record<string, unknown>>): number[] | null {
  const out: number[] = [];
  for (const o of objectives) {
    const v = metricValue(values, o.metric);
    if (v === undefined) return null;
    out.push(v);
  }
  return out;
}

/** The objectives' values oriented (higher is better), or null when one of them is missing. */
export function scoreVector(objectives: readonly Objective[], values: Readonly<Record<string, unknown>>): number[] | null {
  const raw = objectiveValues(objectives, values);
  return raw && raw.map((v, i) => orient(objectives[i]!.direction, v));
}

/**
 * How much `values` break the constraints: 0 when all hold, else the sum of each broken bound's excess relative to
 * the bound (|bound|, or 1 for a bound of 0), MISSING_VIOLATION for each constrained metric that is absent.
 * Only the constraints on `only` metrics count when it is given (e.g. the costs known before training).
 */
export function constraintViolation(constraints: readonly MetricConstraint[], values: Readonly<Record<string, unknown>>, only?: readonly string[]): number {
  let violation = 0;
  for (const c of constraints) {
    if (only && !only.includes(c.metric)) continue;
    const v = metricValue(values, c.metric);
    if (v === undefined) {
      violation += MISSING_VIOLATION;
      continue;
    }
    if (c.max !== undefined && v > c.max) violation += (v - c.max) / (Math.abs(c.max) || 1);
    if (c.min !== undefined && v < c.min) violation += (c.min - v) / (Math.abs(c.min) || 1);
  }
  return violation;
}

/** The first constraint among those on `only` metrics that `values` break, described for a trial's error. */
export function brokenConstraint(constraints: readonly MetricConstraint[], values: Readonly<Record<string, unknown>>, only: readonly string[]): string | undefined {
  for (const c of constraints) {
    if (!only.includes(c.metric)) continue;
    const v = metricValue(values, c.metric);
    if (v === undefined) continue;
    if (c.max !== undefined && v > c.max) return `${c.metric} = ${v} exceeds the search's constraint max ${c.max}`;
    if (c.min !== undefined && v < c.min) return `${c.metric} = ${v} is below the search's constraint min ${c.min}`;
  }
  return undefined;
}

/** Share of an objective's observed range the derived reference point lies beyond the worst observed value. */
export const REFERENCE_MARGIN = 0.1;

/**
 * The reference point of a search's hypervolume, in the metrics' own units, objective by objective:
 *   1. the search's declared `referencePoint`;
 *   2. else a constraint's bound on the objective's worse side (max of a minimised metric, min of a maximised one);
 *   3. else the worst value among `observed` (the feasible trials' objective values) moved 10 % of their range
 *      further (10 % of |value|, or 1, when all are equal), so that every trial of the front adds volume.
 * Null when it needs observations and there are none. A derived point moves as worse trials arrive: declare one to
 * compare hypervolumes across searches or over time.
 */
export function referencePoint(spec: ObjectiveSpec, observed: ReadonlyArray<readonly number[]>): number[] | null {
  const point: number[] = [];
  for (const [i, o] of spec.objectives.entries()) {
    const declared = spec.referencePoint?.[i];
    if (declared !== undefined) {
      point.push(declared);
      continue;
    }
    const bound = spec.constraints.find((c) => c.metric === o.metric && (o.direction === "minimize" ? c.max : c.min) !== undefined);
    if (bound) {
      point.push((o.direction === "minimize" ? bound.max : bound.min)!);
      continue;
    }
    if (observed.length === 0) return null;
    const values = observed.map((v) => v[i]!);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const margin = hi > lo ? REFERENCE_MARGIN * (hi - lo) : REFERENCE_MARGIN * Math.abs(hi) || 1;
    point.push(o.direction === "minimize" ? hi + margin : lo - margin);
  }
  return point;
}

/** A trial as the Pareto views see it: its objective values (own units) and constraint violation. */
export interface ParetoCandidate {
  values: number[];
  violation: number;
}

/**
 * The non-dominated feasible candidates (indices into `candidates`) and their hypervolume against the search's
 * reference point (in oriented units; null when there is no reference point yet).
 */
export function paretoSummary(spec: ObjectiveSpec, candidates: readonly ParetoCandidate[]): { front: number[]; hypervolume: number | null; referencePoint: number[] | null } {
  const feasible = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.violation === 0);
  const oriented = feasible.map(({ c }) => c.values.map((v, k) => orient(spec.objectives[k]!.direction, v)));
  const front = paretoFront(oriented.map((scores) => ({ scores }))).map((k) => feasible[k]!.i);
  const reference = referencePoint(spec, feasible.map(({ c }) => c.values));
  const hv = reference ? hypervolume(oriented, reference.map((v, k) => orient(spec.objectives[k]!.direction, v))) : null;
  return { front, hypervolume: hv, referencePoint: reference };
}

/**
 * Whether a search's objectives and constraints make sense for its evaluator: every objective a metric it reports
 * (`check` asks the evaluator about one objective and names the field under the prefix it is given) in the direction
 * fixed for its metric (catalogue/metric-directions.ts), no metric twice,
 * every constraint on a reported metric or a pre-training cost with a bound (min ≤ max), a reference point with one
 * number per objective. The field at fault is named as the API names fields: `objective.1.metric`, `constraints.0`.
 */
export function checkObjectives(
  request: { objective: Objective | readonly Objective[]; constraints?: readonly MetricConstraint[]; referencePoint?: readonly number[] },
  check: (objective: Objective, prefix: string, asConstraint: boolean) => FieldProblem | undefined,
  preTraining: readonly string[],
): FieldProblem | undefined {
  const list = Array.isArray(request.objective);
  const objectives = objectiveList(request.objective as Objective | Objective[]);
  if (list && objectives.length > MAX_OBJECTIVES) return { field: "objective", message: `at most ${MAX_OBJECTIVES} objectives` };
  for (const [i, o] of objectives.entries()) {
    const prefix = list ? `objective.${i}` : "objective";
    const problem = check(o, prefix, false);
    if (problem) return problem;
    const wrongWay = directionProblem(o); // fixed per metric (catalogue/metric-directions.ts)
    if (wrongWay) return { field: `${prefix}.direction`, message: wrongWay };
    const first = objectives.findIndex((p) => p.metric === o.metric);
    if (first !== i) return { field: `${prefix}.metric`, message: `'${o.metric}' is already objective ${first}: each metric at most once` };
  }
  for (const [i, c] of (request.constraints ?? []).entries()) {
    const field = `constraints.${i}`;
    if (c.max === undefined && c.min === undefined) return { field, message: `a constraint on '${c.metric}' needs a bound: max, min or both` };
    if (c.max !== undefined && c.min !== undefined && c.min > c.max) return { field, message: `min (${c.min}) must be ≤ max (${c.max})` };
    if (!preTraining.includes(c.metric)) {
      const problem = check({ metric: c.metric, direction: "minimize" }, field, true);
      if (problem) return { field: problem.field, message: `${problem.message}${preTraining.length ? ` (costs known before training: ${preTraining.join(", ")})` : ""}` };
    }
  }
  if (request.referencePoint && request.referencePoint.length !== objectives.length) {
    return { field: "referencePoint", message: `needs one value per objective (${objectives.length}), got ${request.referencePoint.length}` };
  }
  return undefined;
}

/**
 * What a strategy is told about a finished trial's objectives, beyond its primary `score`: the oriented scores of
 * every objective (several objectives only; null when one is missing) and its constraint violation (constraints
 * only). `values` are its metrics with its pre-training costs; `primary` its stored objective (null: failed).
 */
export function toldObjectives(spec: ObjectiveSpec, values: Readonly<Record<string, unknown>>, primary: number | null): { scores?: number[] | null; violation?: number } {
  if (primary === null) return spec.objectives.length > 1 ? { scores: null } : {};
  const measured = { ...values, [spec.objectives[0]!.metric]: primary };
  return {
    ...(spec.objectives.length > 1 ? { scores: scoreVector(spec.objectives, measured) } : {}),
    ...(spec.constraints.length > 0 ? { violation: constraintViolation(spec.constraints, measured) } : {}),
  };
}
