/**
 * How far searches have got, for every JSON that shows a search (GET /v1/searches, GET /v1/searches/:id, the
 * events stream): its trials counted by status, its best trial, and its trials counted by tfjs backend. One
 * statement whatever the number of searches (a listing's page is one round trip, never one per search), a grouped
 * count over their trials (index trials(search_id, status)). Every statement is scoped by project.
 */
import { TRIAL_STATUSES, type SearchStatus, type TrialStatus } from "../core/status.js";
import type { Db } from "./client.js";
import type { Search } from "./generated/client.js";
import type { Scope } from "./projects.js";
import { searchColumns } from "./searches.js";

/** A search's progress as stored: trial counts by status (trials only: a DARTS supernet job is no trial). */
export interface SearchProgressRow {
  counts: Record<TrialStatus, number>;
  /** The best completed trial by the primary objective (ties: the first to complete), or null. */
  best: { trialId: string; objective: number; architecture: unknown } | null;
  /** Trials and jobs started on each tfjs backend (those not started yet have none). */
  backends: Record<string, number>;
}

type Summarised = { counts: Partial<Record<TrialStatus, number>> | null; best: SearchProgressRow["best"]; backends: Record<string, number> | null };

/**
 * The per-search parts of the statement, over a CTE `page` of searches (id, objective_direction): counts by status
 * and backend in one grouping pass, and the best trial of each search (DISTINCT ON, by index trials(search_id, objective)).
 */
const SUMMARY_CTES = `
  grouped AS (
    SELECT t.search_id, t.status, t.kind, t.backend, count(*)::int AS n FROM trials t
    WHERE t.search_id IN (SELECT id FROM page) GROUP BY t.search_id, t.status, t.kind, t.backend
  ),
  best AS (
    SELECT DISTINCT ON (t.search_id) t.search_id, t.id AS "trialId", t.objective, t.architecture
    FROM trials t JOIN page p ON p.id = t.search_id
    WHERE t.status = 'completed' AND t.kind = 'trial' AND t.objective IS NOT NULL
    ORDER BY t.search_id, CASE WHEN p.objective_direction = 'maximize' THEN t.objective END DESC NULLS LAST,
             CASE WHEN p.objective_direction <> 'maximize' THEN t.objective END ASC NULLS LAST, t.finished_seq
  )`;

const SUMMARY_COLUMNS = `
  (SELECT json_object_agg(c.status, c.n) FROM (SELECT status, sum(n)::int AS n FROM grouped g WHERE g.search_id = page.id AND g.kind = 'trial' GROUP BY status) c) AS counts,
  (SELECT json_object_agg(c.backend, c.n) FROM (SELECT backend, sum(n)::int AS n FROM grouped g WHERE g.search_id = page.id AND g.backend IS NOT NULL GROUP BY backend) c) AS backends,
  (SELECT json_build_object('trialId', b."trialId", 'objective', b.objective, 'architecture', b.architecture) FROM best b WHERE b.search_id = page.id) AS best`;

function progressOf(row: Summarised): SearchProgressRow {
  const counts = Object.fromEntries(TRIAL_STATUSES.map((st) => [st, row.counts?.[st] ?? 0])) as Record<TrialStatus, number>;
  return { counts, best: row.best ?? null, backends: row.backends ?? {} };
}

/**
 * One page of the project's searches, newest first, each with its progress: one statement. `cursor` is the id of
 * the last search of the previous page (a cursor not of this project gives an empty page).
 */
export async function searchPageWithProgress(
  db: Db,
  scope: Scope,
  opts: { limit: number; cursor?: string; status?: SearchStatus; space?: string },
): Promise<{ items: Array<{ search: Search; progress: SearchProgressRow }>; nextCursor: string | null }> {
  const { rows } = await db.pool.query<Search & Summarised>({
    name: "search-page-with-progress",
    text: `WITH page AS (
        SELECT * FROM searches s
        WHERE s.project_id = $1 AND ($2::"SearchStatus" IS NULL OR s.status = $2) AND ($3::text IS NULL OR s.space = $3)
          AND ($4::uuid IS NULL OR (s.created_at, s.id) < (SELECT c.created_at, c.id FROM searches c WHERE c.id = $4 AND c.project_id = $1))
        ORDER BY s.created_at DESC, s.id DESC LIMIT $5
      ), ${SUMMARY_CTES}
      SELECT ${searchColumns("page.")}, ${SUMMARY_COLUMNS}
      FROM page ORDER BY page.created_at DESC, page.id DESC`,
    values: [scope.projectId, opts.status ?? null, opts.space ?? null, opts.cursor ?? null, opts.limit + 1],
  });
  const items = rows.slice(0, opts.limit).map(({ counts, best, backends, ...search }) => ({ search: search as Search, progress: progressOf({ counts, best, backends }) }));
  return { items, nextCursor: rows.length > opts.limit ? items[items.length - 1]!.search.id : null };
}

/** The progress of searches of the scope's project, by id (searches of another project are absent): one statement. */
export async function searchProgress(db: Db, scope: Scope, searchIds: readonly string[]): Promise<Map<string, SearchProgressRow>> {
  if (searchIds.length === 0) return new Map();
  const { rows } = await db.pool.query<{ id: string } & Summarised>({
    name: "search-progress",
    text: `WITH page AS (SELECT id, objective_direction FROM searches WHERE id = ANY($1::uuid[]) AND project_id = $2), ${SUMMARY_CTES}
      SELECT page.id, ${SUMMARY_COLUMNS} FROM page`,
    values: [[...searchIds], scope.projectId],
  });
  return new Map(rows.map((r) => [r.id, progressOf(r)]));
}

/**
 * The last step each trial reached in its current attempt (its newest curve point), by id; trials without a point
 * in this attempt are absent. One statement for a page of trials (index curve_points(trial_id, attempt, step)).
 */
export async function trialSteps(db: Db, scope: Scope, trialIds: readonly string[]): Promise<Map<string, number>> {
  if (trialIds.length === 0) return new Map();
  const { rows } = await db.pool.query<{ id: string; step: number }>({
    name: "trial-steps",
    text: `SELECT t.id, (SELECT max(c.step) FROM curve_points c WHERE c.trial_id = t.id AND c.attempt = t.attempts) AS step
      FROM trials t JOIN searches s ON s.id = t.search_id
      WHERE t.id = ANY($1::uuid[]) AND s.project_id = $2`,
    values: [[...trialIds], scope.projectId],
  });
  return new Map(rows.filter((r) => r.step !== null).map((r) => [r.id, r.step]));
}
