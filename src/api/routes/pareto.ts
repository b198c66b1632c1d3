/**
 * Pareto fronts: a search's non-dominated completed trials (GET /v1/searches/:id/pareto) and the leaderboard's front
 * over every search of a space and task (GET /v1/leaderboard/pareto), each with its hypervolume against a reference
 * point (catalogue/objectives.ts: declared, a constraint's bound, or derived from the trials). A trial is on a
 * search's front when it keeps the search's constraints and no other such trial is at least as good in every
 * objective and better in one.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { constraintViolation, objectiveSpecOf, objectiveValues, paretoSummary, type ObjectiveSpec, type StoredObjectives } from "../../catalogue/objectives.js";
import type { Db } from "../../db/client.js";
import { frontTrials, leaderboardParetoRows, newestObjectivesOf, searchParetoRows, type FrontTrial, type ParetoRow } from "../../db/pareto.js";
import type { Scope } from "../../db/projects.js";
import { metricDirection } from "../../catalogue/metric-directions.js";
import { leaderboardChoices } from "../../db/leaderboard.js";
import { getSearch } from "../../db/searches.js";
import { badRequest, errorBodySchema, notFound } from "../errors.js";
import { identifier, text, uuidParam } from "../schemas.js";

const objectiveOut = z.object({ metric: z.string(), direction: z.enum(["minimize", "maximize"]) });
const frontEntry = z.object({
  trialId: z.string(),
  searchId: z.string(),
  seq: z.number().int(),
  archHash: z.string(),
  architecture: z.unknown(),
  values: z.array(z.number()).describe("the trial's value of each objective, in the metrics' own units and the objectives' order"),
  metrics: z.unknown(),
  finishedAt: z.string().nullable(),
});

export const searchParetoSchema = z
  .object({
    searchId: z.string(),
    objectives: z.array(objectiveOut),
    constraints: z.array(z.object({ metric: z.string(), max: z.number().optional(), min: z.number().optional() })),
    referencePoint: z.array(z.number()).nullable().describe("the point the hypervolume is measured from (declared, a constraint's bound, or derived: see the README); null before any feasible trial"),
    hypervolume: z.number().nullable().describe("volume dominated by the front and bounded by referencePoint, in the product of the objectives' units"),
    completed: z.number().int().describe("completed trials with every objective measured"),
    feasible: z.number().int().describe("of those, the ones that keep the search's constraints"),
    front: z.array(frontEntry).describe("the non-dominated feasible trials, best first in the first objective"),
  })
  .describe("SearchPareto");

/** A search's front, its hypervolume and counts: what GET /v1/searches/:id/pareto answers and the search detail summarises. */
export async function searchFront(db: Db, scope: Scope, search: StoredObjectives & { id: string }) {
  const spec = objectiveSpecOf(search);
  const metrics = [...new Set([...spec.objectives.map((o) => o.metric), ...spec.constraints.map((c) => c.metric)])];
  const rows = await searchParetoRows(db, scope, search.id, metrics);
  return frontOf(spec, rows, (r) => constraintViolation(spec.constraints, measured(spec, r)));
}

/** The search detail's `pareto`: null for a search of one objective (its `best` says it all), else the front's size and hypervolume. */
export async function paretoDetail(db: Db, scope: Scope, search: StoredObjectives & { id: string }) {
  if (objectiveSpecOf(search).objectives.length < 2) return null;
  const found = await searchFront(db, scope, search);
  return { size: found.front.length, hypervolume: found.hypervolume, referencePoint: found.referencePoint, url: `/v1/searches/${search.id}/pareto` };
}

/** The primary objective is the trial's stored `objective` (a pruned or rung estimate included); the rest its metrics. */
function measured(spec: ObjectiveSpec, r: ParetoRow): Record<string, unknown> {
  return r.objective === null ? r.values : { ...r.values, [spec.objectives[0]!.metric]: r.objective };
}

function frontOf(spec: ObjectiveSpec, rows: readonly ParetoRow[], violation: (r: ParetoRow) => number) {
  const measuredRows = rows.flatMap((r) => {
    const values = objectiveValues(spec.objectives, measured(spec, r));
    return values ? [{ row: r, values, violation: violation(r) }] : [];
  });
  const summary = paretoSummary(spec, measuredRows);
  const direction = spec.objectives[0]!.direction === "maximize" ? -1 : 1;
  const front = summary.front.map((i) => measuredRows[i]!).sort((a, b) => direction * (a.values[0]! - b.values[0]!) || a.values.slice(1).join().localeCompare(b.values.slice(1).join()));
  return { spec, front, hypervolume: summary.hypervolume, referencePoint: summary.referencePoint, completed: measuredRows.length, feasible: measuredRows.filter((m) => m.violation === 0).length };
}

/** The front's trials with their objective values, in the front's order. */
function entries(trials: readonly FrontTrial[], front: ReadonlyArray<{ row: ParetoRow; values: number[] }>) {
  const values = new Map(front.map((f) => [f.row.id, f.values]));
  return trials.map((t) => entry(t, values.get(t.id)!));
}

function entry(t: FrontTrial, values: number[]) {
  return { trialId: t.id, searchId: t.searchId, seq: t.seq, archHash: t.archHash, architecture: t.architecture, values, metrics: t.metrics, finishedAt: t.finishedAt ? t.finishedAt.toISOString() : null };
}

/** A comma-separated query list of at most `max` items, each an identifier; the field is named when one is not. */
function listOf(value: string, field: string, max: number): string[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.length > max) throw badRequest(field, `at most ${max} items`, "querystring");
  for (const [i, item] of items.entries()) {
    const parsed = identifier().safeParse(item);
    if (!parsed.success) throw badRequest(field, `item ${i}: ${parsed.error.issues[0]!.message}`, "querystring");
  }
  if (new Set(items).size !== items.length) throw badRequest(field, "each item at most once", "querystring");
  return items;
}

export const paretoRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.services;

  app.get(
    "/v1/searches/:id/pareto",
    {
      schema: {
        tags: ["searches"],
        summary: "A search's Pareto front: its non-dominated feasible completed trials with their objective values, and its hypervolume",
        params: uuidParam,
        response: { 200: searchParetoSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const search = await getSearch(db, request.principal, request.params.id);
      if (!search) throw notFound("search", request.params.id);
      const found = await searchFront(db, request.principal, search);
      const trials = await frontTrials(db, request.principal, found.front.map((f) => f.row.id));
      return {
        searchId: search.id,
        objectives: found.spec.objectives,
        constraints: found.spec.constraints,
        referencePoint: found.referencePoint,
        hypervolume: found.hypervolume,
        completed: found.completed,
        feasible: found.feasible,
        front: entries(trials, found.front),
      };
    },
  );

  app.get(
    "/v1/leaderboard/pareto",
    {
      schema: {
        tags: ["leaderboard"],
        summary: "The Pareto front across all searches of a space and task over two or more metrics, one row per distinct architecture",
        querystring: z.strictObject({
          space: identifier().describe("id of a search space"),
          task: identifier()
            .optional()
            .describe("evaluator task, e.g. cifar10 (default: the task of the space's searches when they have one; required when they have several: a 400 lists them)"),
          metrics: text(1000).optional().describe("comma-separated metrics, e.g. val_bpc,params (default: the objectives of the newest search of the space and task with several)"),
          directions: text(1000)
            .optional()
            .describe("comma-separated minimize|maximize, one per metric (default: as in the newest search of the space and task that has these metrics among its objectives)"),
          referencePoint: text(1000).optional().describe("comma-separated numbers, one per metric, the hypervolume is measured from (default: derived from the trials, see the README)"),
        }),
        response: {
          200: z.object({
            space: z.string(),
            task: z.string().nullable(),
            objectives: z.array(objectiveOut),
            referencePoint: z.array(z.number()).nullable(),
            hypervolume: z.number().nullable(),
            rows: z.array(frontEntry),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { space } = request.query;
      // No silent default: the space's only task, or a 400 listing its tasks (GET /v1/leaderboard/boards lists them too).
      let task = request.query.task ?? null;
      if (!task) {
        const tasks = await leaderboardChoices(db, request.principal, { space });
        if (tasks.length > 1) throw badRequest("task", `space '${space}' has searches of several tasks: ${tasks.map((t) => `'${t}'`).join(", ")}; name one`, "querystring");
        task = tasks[0] ?? null;
      }
      if (!task) return { space, task: null, objectives: [], referencePoint: null, hypervolume: null, rows: [] };
      const metrics = request.query.metrics === undefined ? undefined : listOf(request.query.metrics, "metrics", 4);
      let directions = request.query.directions === undefined ? undefined : listOf(request.query.directions, "directions", 4);
      if (directions && (!metrics || directions.length !== metrics.length)) throw badRequest("directions", `one per metric (${metrics?.length ?? "give metrics"})`, "querystring");
      const bad = directions?.findIndex((d) => d !== "minimize" && d !== "maximize") ?? -1;
      if (bad >= 0) throw badRequest("directions", `item ${bad}: minimize or maximize, not '${directions![bad]}'`, "querystring");
      // A metric's direction is fixed (catalogue/metric-directions.ts): a front never ranks accuracy downwards.
      const wrong = directions?.findIndex((d, i) => (metricDirection(metrics![i]!) ?? d) !== d) ?? -1;
      if (wrong >= 0) throw badRequest("directions", `item ${wrong}: ${metrics![wrong]} is ${metricDirection(metrics![wrong]!)}d, not ${directions![wrong]}d`, "querystring");
      let objectives: ObjectiveSpec["objectives"];
      if (metrics && directions) objectives = metrics.map((metric, i) => ({ metric, direction: directions![i] as "minimize" | "maximize" }));
      else {
        const newest = await newestObjectivesOf(db, request.principal, space, task, metrics);
        if (!newest) {
          if (metrics) throw badRequest("directions", `no search of ${space} on ${task} has ${metrics.join(", ")} among its objectives: give directions (minimize or maximize, one per metric)`, "querystring");
          return { space, task, objectives: [], referencePoint: null, hypervolume: null, rows: [] };
        }
        objectives = (metrics ?? newest.map((o) => o.metric)).map((metric) => ({ metric, direction: newest.find((o) => o.metric === metric)!.direction as "minimize" | "maximize" }));
        directions = objectives.map((o) => o.direction);
      }
      if (objectives.length < 2) throw badRequest("metrics", "a Pareto front needs two metrics or more", "querystring");
      let referencePoint: number[] | null = null;
      if (request.query.referencePoint !== undefined) {
        referencePoint = request.query.referencePoint.split(",").map(Number);
        if (referencePoint.length !== objectives.length || !referencePoint.every(Number.isFinite)) throw badRequest("referencePoint", `${objectives.length} numbers, one per metric`, "querystring");
      }
      const spec: ObjectiveSpec = { objectives, constraints: [], referencePoint };
      // Every trial stores its metrics under their names, whatever its search's objective: the primary one included.
      const rows = (await leaderboardParetoRows(db, request.principal, { space, task, metrics: objectives.map((o) => o.metric) })).map((r) => ({ ...r, objective: null }));
      const found = frontOf(spec, rows, () => 0);
      // One row per architecture: its first trial on the front.
      const seen = new Set<string>();
      const front = found.front.filter((f) => !seen.has(f.row.archHash) && seen.add(f.row.archHash));
      const trials = await frontTrials(db, request.principal, front.map((f) => f.row.id));
      return { space, task, objectives, referencePoint: found.referencePoint, hypervolume: found.hypervolume, rows: entries(trials, front) };
    },
  );
};
