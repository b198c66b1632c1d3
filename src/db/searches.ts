/**
 * Statements about searches: create, read, list, summarise, cancel. Every one serves a request and is scoped by
 * the request's project (db/projects.ts): another project's search is not found.
 */
import { ACTIVE_SEARCH_STATUSES, isActiveSearch, TRIAL_STATUSES, type SearchStatus, type TrialStatus } from "../core/status.js";
import { randomUUID } from "node:crypto";
import { transaction, type Db } from "./client.js";
import type { Prisma, Search } from "./generated/client.js";
import type { Scope } from "./projects.js";
import { withSearchLock } from "./search-lock.js";

/** A search's row as the API shows it. */
export type SearchRow = Search;

export interface NewSearch {
  name: string;
  space: string;
  task: string;
  strategy: Prisma.InputJsonValue;
  evaluator: Prisma.InputJsonValue;
  objectiveMetric: string;
  objectiveDirection: "minimize" | "maximize";
  maxTrials: number;
  maxParallel: number;
  maxFailures: number;
  scheduler?: Prisma.InputJsonValue;
  seed: number;
  /** The space's version and full definition, snapshotted with the search (orchestrator and trainers read these). */
  spaceVersion?: string;
  spaceDefinition?: Prisma.InputJsonValue;
  /** Multi-objective searches (catalogue/objectives.ts): every objective, constraints, declared reference point. */
  objectiveList?: Prisma.InputJsonValue;
  constraints?: Prisma.InputJsonValue;
  referencePoint?: Prisma.InputJsonValue;
}

/**
 * Stores a search of the scope's project, unless the project already has `maxActive` searches queued or running
 * (then null). The count and the insert are serialised per project, so concurrent submissions cannot pass it.
 */
export async function createSearch(db: Db, scope: Scope, data: NewSearch): Promise<Search>;
export async function createSearch(db: Db, scope: Scope, data: NewSearch, maxActive: number): Promise<Search | null>;
export async function createSearch(db: Db, scope: Scope, data: NewSearch, maxActive = Infinity): Promise<Search | null> {
  // The project's lock serialises its submissions, so it is held for as little as possible: two plain statements on
  // one pool connection, the count and the insert in one, which returns the row. (Under Prisma's interactive
  // transaction each step was a round trip through the query engine under the lock, ~11 ms a submission: 200
  // submissions of one project at once took 2.3 s, and half of them failed with a 500 after Prisma's 2 s wait.)
  return transaction(db, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [scope.projectId]);
    const { rows } = await client.query<Search>(
      `INSERT INTO searches (id, project_id, name, space, task, strategy, evaluator, objective_metric, objective_direction,
         max_trials, max_parallel, max_failures, scheduler, seed, space_version, space_definition,
         objective_list, constraints, reference_point)
       SELECT $1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13::jsonb, $14, $17, $18::jsonb, $19::jsonb, $20::jsonb, $21::jsonb
       WHERE $15::bigint IS NULL OR (SELECT count(*) FROM searches WHERE project_id = $2 AND status = ANY($16::"SearchStatus"[])) < $15
       RETURNING ${SEARCH_COLUMNS}`,
      [
        randomUUID(), scope.projectId, data.name, data.space, data.task, JSON.stringify(data.strategy), JSON.stringify(data.evaluator), data.objectiveMetric,
        data.objectiveDirection, data.maxTrials, data.maxParallel, data.maxFailures, data.scheduler === undefined ? null : JSON.stringify(data.scheduler), data.seed,
        Number.isFinite(maxActive) ? maxActive : null, [...ACTIVE_SEARCH_STATUSES],
        data.spaceVersion ?? null, data.spaceDefinition === undefined ? null : JSON.stringify(data.spaceDefinition),
        ...[data.objectiveList, data.constraints, data.referencePoint].map((v) => (v === undefined ? null : JSON.stringify(v))),
      ],
    );
    return rows[0] ?? null;
  });
}

/** Every column of `searches` under its name in Prisma's `Search` (so a statement of the pool returns that shape). */
const SEARCH_FIELDS = [
  ["id", "id"], ["project_id", "projectId"], ["name", "name"], ["space", "space"], ["task", "task"], ["strategy", "strategy"],
  ["evaluator", "evaluator"], ["objective_metric", "objectiveMetric"], ["objective_direction", "objectiveDirection"],
  ["max_trials", "maxTrials"], ["max_parallel", "maxParallel"], ["max_failures", "maxFailures"], ["seed", "seed"], ["status", "status"],
  ["error", "error"], ["strategy_state", "strategyState"], ["scheduler", "scheduler"], ["scheduler_state", "schedulerState"],
  ["trials_created", "trialsCreated"], ["compute_flops", "computeFlops"], ["compute_exhausted", "computeExhausted"],
  ["space_version", "spaceVersion"], ["space_definition", "spaceDefinition"],
  ["objective_list", "objectiveList"], ["constraints", "constraints"], ["reference_point", "referencePoint"],
  ["created_at", "createdAt"], ["updated_at", "updatedAt"], ["started_at", "startedAt"], ["finished_at", "finishedAt"],
] as const satisfies ReadonlyArray<readonly [column: string, field: keyof Search]>;
/** A field of `Search` missing above fails to compile here (a column added to the schema must be added above). */
const allFields: Exclude<keyof Search, (typeof SEARCH_FIELDS)[number][1]> extends never ? true : never = true;
void allFields;
/** The select list of a search row (`table` prefixes each column, e.g. "s."); db/search-progress.ts shares it. */
export const searchColumns = (table = "") => SEARCH_FIELDS.map(([column, field]) => `${table}${column} AS "${field}"`).join(", ");
const SEARCH_COLUMNS = searchColumns();

// The statements of the API's hottest reads (a search's detail, a page of searches with their progress) run on the pool as named
// statements, planned once per connection: through Prisma each cost ~3× the CPU (bench:api).

export async function getSearch(db: Db, scope: Scope, id: string): Promise<Search | null> {
  const { rows } = await db.pool.query<Search>({ name: "get-search", text: `SELECT ${SEARCH_COLUMNS} FROM searches WHERE id = $1 AND project_id = $2`, values: [id, scope.projectId] });
  return rows[0] ?? null;
}

/** Newest first; `cursor` is the id of the last search of the previous page. */
export async function listSearches(db: Db, scope: Scope, opts: { limit: number; cursor?: string; status?: SearchStatus; space?: string }) {
  const rows = await db.search.findMany({
    where: { projectId: scope.projectId, status: opts.status, space: opts.space },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: opts.limit + 1,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, opts.limit);
  return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null };
}

export type TrialCounts = Record<TrialStatus, number>;

export interface SearchDetail {
  search: Search;
  counts: TrialCounts;
  /** The best completed trial (ties: the first to complete). */
  best: { id: string; seq: number; architecture: Prisma.JsonValue; archHash: string; metrics: Prisma.JsonValue; objective: number } | null;
  /** The best objective after each completed trial, in completion order. */
  bestSoFar: number[];
  /** The newest supernet job (DARTS searches). */
  supernet: { id: string; status: TrialStatus } | null;
  /** Trials and jobs started on each tfjs backend. */
  backends: Record<string, number>;
}

/**
 * What GET /v1/searches/:id shows of a search, in one statement (trialCounts, searchProgress and latestSupernet
 * in one round trip: a search's detail is what clients poll, and each statement is a round trip and a write on the
 * connection; five of them made this route 4× slower than the leaderboard, bench:api). Null if not in the scope.
 */
export async function searchDetail(db: Db, scope: Scope, id: string): Promise<SearchDetail | null> {
  const { rows } = await db.pool.query<Search & { counts: Partial<TrialCounts> | null; best: SearchDetail["best"]; objectives: number[]; supernet: SearchDetail["supernet"]; backends: Record<string, number> | null }>({
    name: "search-detail",
    text: `SELECT ${searchColumns("s.")},
      (SELECT json_object_agg(c.status, c.n) FROM (SELECT status, count(*)::int AS n FROM trials WHERE search_id = s.id AND kind = 'trial' GROUP BY status) c) AS counts,
      (SELECT row_to_json(b) FROM (
         SELECT id, seq, architecture, arch_hash AS "archHash", metrics, objective FROM trials
         WHERE search_id = s.id AND status = 'completed' AND objective IS NOT NULL
         ORDER BY CASE WHEN s.objective_direction = 'maximize' THEN objective END DESC NULLS LAST,
                  CASE WHEN s.objective_direction <> 'maximize' THEN objective END ASC NULLS LAST, finished_seq
         LIMIT 1) b) AS best,
      ARRAY(SELECT objective FROM trials WHERE search_id = s.id AND status = 'completed' AND objective IS NOT NULL ORDER BY finished_seq) AS objectives,
      (SELECT row_to_json(x) FROM (SELECT id, status FROM trials WHERE search_id = s.id AND kind = 'supernet' ORDER BY seq DESC LIMIT 1) x) AS supernet,
      (SELECT json_object_agg(k.backend, k.n) FROM (SELECT backend, count(*)::int AS n FROM trials WHERE search_id = s.id AND backend IS NOT NULL GROUP BY backend) k) AS backends
    FROM searches s WHERE s.id = $1 AND s.project_id = $2`,
    values: [id, scope.projectId],
  });
  const row = rows[0];
  if (!row) return null;
  const { counts: found, best, objectives, supernet, backends, ...search } = row;
  const counts = Object.fromEntries(TRIAL_STATUSES.map((st) => [st, found?.[st] ?? 0])) as TrialCounts;
  const maximize = search.objectiveDirection === "maximize";
  const bestSoFar: number[] = [];
  let running = maximize ? -Infinity : Infinity;
  for (const o of objectives) {
    running = maximize ? Math.max(running, o) : Math.min(running, o);
    bestSoFar.push(running);
  }
  return { search, counts, best, bestSoFar, supernet, backends: backends ?? {} };
}

/** Cancels an active search and its unfinished trials; returns null if the search does not exist (in this scope). */
export async function cancelSearch(db: Db, scope: Scope, id: string): Promise<{ search: Search; changed: boolean } | null> {
  const changed = await withSearchLock(db, id, async (search) => {
    if (search.row.projectId !== scope.projectId) return null;
    const active = isActiveSearch(search.row.status);
    if (active) await search.end("cancelled", null);
    return active;
  });
  if (changed === null) return null;
  return { search: (await getSearch(db, scope, id))!, changed };
}


/** Ids of the searches that can still run trials (the reconciler advances each). */
export async function activeSearchIds(db: Db): Promise<string[]> {
  const rows = await db.search.findMany({ where: { status: { in: [...ACTIVE_SEARCH_STATUSES] } }, select: { id: true } });
  return rows.map((r) => r.id);
}
