/**
 * The statements of the Pareto views: the completed trials of a search, or of a project's space and task across its
 * searches, with the values of the metrics a front is drawn over. Each serves a request and is scoped by the
 * request's project (db/projects.ts). Only the metrics asked for are read out of each trial's metrics (a trial's
 * metrics may hold a generated sample or per-expert lists); the front's own trials are then read whole.
 */
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

/** A completed trial with the values of the asked metrics (absent or not a number: missing). */
export interface ParetoRow {
  id: string;
  searchId: string;
  archHash: string;
  /** Its search's primary objective as stored (the `objective` column). */
  objective: number | null;
  values: Record<string, unknown>;
}

/** A trial of a front, as the API shows it. */
export interface FrontTrial {
  id: string;
  searchId: string;
  seq: number;
  architecture: unknown;
  archHash: string;
  objective: number | null;
  metrics: unknown;
  finishedAt: Date | null;
}

/** Completed trials of one search (of the scope's project) in completion order, with the values of `metrics`. */
export async function searchParetoRows(db: Db, scope: Scope, searchId: string, metrics: readonly string[]): Promise<ParetoRow[]> {
  const { rows } = await db.pool.query<ParetoRow>({
    name: "search-pareto-rows",
    text: `SELECT t.id, t.search_id AS "searchId", t.arch_hash AS "archHash", t.objective,
             COALESCE((SELECT jsonb_object_agg(m, t.metrics -> m) FROM unnest($3::text[]) AS m WHERE t.metrics ? m), '{}'::jsonb) AS "values"
           FROM trials t JOIN searches s ON s.id = t.search_id
           WHERE t.search_id = $1 AND s.project_id = $2 AND t.kind = 'trial' AND t.status = 'completed'
           ORDER BY t.finished_seq`,
    values: [searchId, scope.projectId, [...metrics]],
  });
  return rows;
}

/**
 * Completed trials of every search of the scope's project over `space` and `task`, with the values of `metrics`, in
 * completion order (so the first trial of an architecture comes first).
 */
export async function leaderboardParetoRows(db: Db, scope: Scope, q: { space: string; task: string; metrics: readonly string[] }): Promise<ParetoRow[]> {
  const { rows } = await db.pool.query<ParetoRow>({
    name: "leaderboard-pareto-rows",
    text: `SELECT t.id, t.search_id AS "searchId", t.arch_hash AS "archHash", t.objective,
             COALESCE((SELECT jsonb_object_agg(m, t.metrics -> m) FROM unnest($4::text[]) AS m WHERE t.metrics ? m), '{}'::jsonb) AS "values"
           FROM searches s JOIN trials t ON t.search_id = s.id
           WHERE s.project_id = $1 AND s.space = $2 AND s.task = $3 AND t.kind = 'trial' AND t.status = 'completed'
           ORDER BY t.finished_seq`,
    values: [scope.projectId, q.space, q.task, [...q.metrics]],
  });
  return rows;
}

/** The trials of a front, whole, in the order of `ids` (of the scope's project only). */
export async function frontTrials(db: Db, scope: Scope, ids: readonly string[]): Promise<FrontTrial[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.pool.query<FrontTrial>({
    name: "pareto-front-trials",
    text: `SELECT t.id, t.search_id AS "searchId", t.seq, t.architecture, t.arch_hash AS "archHash", t.objective, t.metrics, t.finished_at AS "finishedAt"
           FROM trials t JOIN searches s ON s.id = t.search_id
           WHERE t.id = ANY($1::uuid[]) AND s.project_id = $2`,
    values: [[...ids], scope.projectId],
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is FrontTrial => r !== undefined);
}

/**
 * The objectives (metric and direction) of the project's newest search of a space and task that has all of
 * `metrics` among its objectives, or, without metrics, of its newest search of several objectives: where the
 * leaderboard's Pareto front takes its directions and default metrics from.
 */
export async function newestObjectivesOf(db: Db, scope: Scope, space: string, task: string, metrics?: readonly string[]): Promise<Array<{ metric: string; direction: string }> | null> {
  const { rows } = await db.pool.query<{ objectives: Array<{ metric: string; direction: string }> }>({
    name: "newest-objectives-of",
    text: `SELECT COALESCE(objective_list, jsonb_build_array(jsonb_build_object('metric', objective_metric, 'direction', objective_direction))) AS objectives
           FROM searches
           WHERE project_id = $1 AND space = $2 AND task = $3
             AND ($4::text[] IS NULL OR (SELECT bool_and(EXISTS (
                   SELECT 1 FROM jsonb_array_elements(COALESCE(objective_list, jsonb_build_array(jsonb_build_object('metric', objective_metric)))) o WHERE o ->> 'metric' = m))
                 FROM unnest($4::text[]) AS m))
             AND ($4::text[] IS NOT NULL OR jsonb_array_length(COALESCE(objective_list, '[]'::jsonb)) > 1)
           ORDER BY created_at DESC LIMIT 1`,
    values: [scope.projectId, space, task, metrics ? [...metrics] : null],
  });
  return rows[0]?.objectives ?? null;
}
