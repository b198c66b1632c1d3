/**
 * Statements about trials. The state changes that workers race on (start, complete, fail) are single conditional
 * statements, so a trial is completed at most once however many workers or retries touch it; they act for the
 * system on the trial a job names. The reads that serve requests take the request's scope (db/projects.ts).
 */
import { ACTIVE_SEARCH_STATUSES, IN_FLIGHT_STATUSES, type EndStatus, type TrialKind, type TrialStatus } from "../core/status.js";
import type { JsonValue } from "../core/json.js";
import type { Db } from "./client.js";
import type { Prisma, Trial } from "./generated/client.js";
import type { Scope } from "./projects.js";

/** A trial's metrics as stored (JSON): every metric its evaluator reported. */
type Metrics = Readonly<Record<string, unknown>>;

/** What a trainer needs to run a trial, returned when it claims the trial. */
export interface TrialRun {
  id: string;
  searchId: string;
  seq: number;
  attempt: number;
  architecture: JsonValue;
  /** The architecture's canonical hash (the trainer's log lines name it). */
  archHash: string;
  space: string;
  /** The space's definition as snapshotted with the search (null for searches stored before snapshots). */
  spaceDefinition: JsonValue | null;
  /** The trial's evaluator config: a job's own, else its search's ({type, …options}). */
  evaluator: { type: string } & Record<string, unknown>;
  objectiveMetric: string;
  objectiveDirection: "minimize" | "maximize";
  seed: number;
  /** Under a scheduler: the budgets at which the trial reports (its rungs, then its full budget). */
  budgets: number[] | null;
  kind: TrialKind;
}

/**
 * Marks a queued (or stalled running) trial of an active search as running and counts the attempt. Returns null
 * when the trial is finished or its search is no longer active: the job is then simply dropped. `backend` is the
 * tfjs backend the trainer runs (stored with the trial: a search shows the mix of backends its trials ran on).
 */
export async function startTrial(db: Db, trialId: string, worker: string, backend: string | null = null): Promise<TrialRun | null> {
  const { rows } = await db.pool.query<TrialRun>(
    `UPDATE trials t SET status = 'running', attempts = t.attempts + 1, worker = $2, backend = $3, started_at = now()
     FROM searches s
     WHERE t.id = $1 AND s.id = t.search_id
       AND t.status IN ('queued', 'running') AND s.status IN ('queued', 'running')
     RETURNING t.id, t.search_id AS "searchId", t.seq, t.attempts AS attempt, t.architecture, t.arch_hash AS "archHash", s.space, s.space_definition AS "spaceDefinition",
       COALESCE(t.evaluator, s.evaluator) AS evaluator, s.objective_metric AS "objectiveMetric",
       s.objective_direction AS "objectiveDirection", s.seed, t.budgets, t.kind`,
    [trialId, worker, backend],
  );
  return rows[0] ?? null;
}

/**
 * Completes a trial once: stores metrics and objective and updates the leaderboard in one statement. Returns the
 * search id when this call completed the trial, null when it was already finished (a duplicate delivery).
 */
export async function completeTrial(db: Db, trialId: string, metrics: Metrics, objective: number): Promise<string | null> {
  const { rows } = await db.pool.query<{ searchId: string }>(
    `WITH done AS (
      UPDATE trials SET status = 'completed', metrics = $2::jsonb, objective = $3,
        error = NULL, finished_at = now(), finished_seq = nextval('trial_finish_order')
      WHERE id = $1 AND kind = 'trial' AND status IN ('queued', 'running')
      RETURNING id, search_id, arch_hash, objective
    ), board AS (
      INSERT INTO leaderboard_entries AS e (project_id, space, task, metric, arch_hash, score, objective, trial_id, search_id, updated_at)
      SELECT s.project_id, s.space, s.task, s.objective_metric, done.arch_hash,
        CASE WHEN s.objective_direction = 'maximize' THEN done.objective ELSE -done.objective END,
        done.objective, done.id, done.search_id, now()
      FROM done JOIN searches s ON s.id = done.search_id
      ON CONFLICT (project_id, space, task, metric, arch_hash) DO UPDATE
        SET score = EXCLUDED.score, objective = EXCLUDED.objective, trial_id = EXCLUDED.trial_id,
            search_id = EXCLUDED.search_id, updated_at = now()
        WHERE e.score < EXCLUDED.score
    )
    SELECT search_id AS "searchId" FROM done`,
    [trialId, JSON.stringify(metrics), objective],
  );
  return rows[0]?.searchId ?? null;
}

/**
 * Completes a job that is not a scored trial (a supernet training): its metrics feed the strategy; it has no
 * objective and never reaches the leaderboard. Returns the search id, or null if it was already finished.
 */
export async function completeJob(db: Db, trialId: string, metrics: Metrics): Promise<string | null> {
  const { rows } = await db.pool.query<{ searchId: string }>(
    `UPDATE trials SET status = 'completed', metrics = $2::jsonb, error = NULL, finished_at = now(), finished_seq = nextval('trial_finish_order')
     WHERE id = $1 AND kind <> 'trial' AND status IN ('queued', 'running')
     RETURNING search_id AS "searchId"`,
    [trialId, JSON.stringify(metrics)],
  );
  return rows[0]?.searchId ?? null;
}

export async function addAlphaSnapshot(db: Db, trialId: string, attempt: number, step: number, alphas: Record<string, Record<string, number>>): Promise<void> {
  await db.pool.query(`INSERT INTO alpha_snapshots (trial_id, attempt, step, alphas) VALUES ($1, $2, $3, $4::jsonb)`, [trialId, attempt, step, JSON.stringify(alphas)]);
}

/** The α series of a search's supernet jobs (latest attempt of each), in step order. */
export async function alphaSeries(db: Db, scope: Scope, searchId: string) {
  const { rows } = await db.pool.query<{ trialId: string; attempt: number; step: number; alphas: Record<string, Record<string, number>> }>(
    `SELECT a.trial_id AS "trialId", a.attempt, a.step, a.alphas
     FROM alpha_snapshots a JOIN trials t ON t.id = a.trial_id JOIN searches s ON s.id = t.search_id
     WHERE t.search_id = $1 AND s.project_id = $2 AND a.attempt = t.attempts
     ORDER BY t.seq, a.step, a.id`,
    [searchId, scope.projectId],
  );
  return rows;
}

/**
 * Ends an unfinished trial with a status other than completed (failed, pruned, cancelled). A pruned trial keeps the
 * metrics and objective it reached, for its strategy; only completed trials reach the leaderboard.
 */
export async function finishTrial(db: Db, trialId: string, status: EndStatus, error: string | null, result?: { metrics: Metrics; objective: number }): Promise<string | null> {
  const { rows } = await db.pool.query<{ searchId: string }>(
    `UPDATE trials SET status = $2::"TrialStatus", error = $3, finished_at = now(),
       metrics = COALESCE($4::jsonb, metrics), objective = COALESCE($5, objective), finished_seq = nextval('trial_finish_order')
     WHERE id = $1 AND status IN ('queued', 'running')
     RETURNING search_id AS "searchId"`,
    [trialId, status, error, result ? JSON.stringify(result.metrics) : null, result?.objective ?? null],
  );
  return rows[0]?.searchId ?? null;
}

export async function trialStatus(db: Db, trialId: string): Promise<TrialStatus | null> {
  const { rows } = await db.pool.query<{ status: TrialStatus }>(`SELECT status FROM trials WHERE id = $1`, [trialId]);
  return rows[0]?.status ?? null;
}

/** Unfinished trials of active searches (the reconciler checks each has a job). */
export async function unfinishedTrials(db: Db): Promise<Array<{ id: string; kind: TrialKind }>> {
  const rows = await db.trial.findMany({
    where: { status: { in: [...IN_FLIGHT_STATUSES] }, search: { status: { in: [...ACTIVE_SEARCH_STATUSES] } } },
    select: { id: true, kind: true },
  });
  return rows.map((r) => ({ id: r.id, kind: r.kind as TrialKind }));
}

export async function addCurvePoints(db: Db, trialId: string, attempt: number, points: Array<{ step: number; values: Record<string, number> }>): Promise<void> {
  if (points.length === 0) return;
  await db.pool.query(
    `INSERT INTO curve_points (trial_id, attempt, step, "values")
     SELECT $1, $2, p.step, p.vals FROM unnest($3::int[], $4::jsonb[]) AS p(step, vals)`,
    [trialId, attempt, points.map((p) => p.step), points.map((p) => JSON.stringify(p.values))],
  );
}

export const TRIAL_LIST_FIELDS = {
  id: true, searchId: true, seq: true, kind: true, architecture: true, archHash: true, status: true, attempts: true, error: true,
  metrics: true, objective: true, worker: true, backend: true, parentId: true, queuedAt: true, startedAt: true, finishedAt: true, budgets: true,
} satisfies Prisma.TrialSelect;

export type TrialRow = Pick<Trial, keyof typeof TRIAL_LIST_FIELDS>;

/**
 * One page of a search's trials. `sort: "objective"` puts the best first (by the search's direction, trials
 * without an objective last); `cursor` is the id of the last trial of the previous page.
 */
export async function listTrials(db: Db, scope: Scope, opts: { searchId: string; status?: TrialStatus; sort: "objective" | "created" | "finished"; direction: "asc" | "desc"; limit: number; cursor?: string }) {
  const orderBy: Prisma.TrialOrderByWithRelationInput[] =
    opts.sort === "objective"
      ? [{ objective: { sort: opts.direction, nulls: "last" } }, { id: "asc" }]
      : opts.sort === "finished"
        ? [{ finishedSeq: { sort: opts.direction, nulls: "last" } }, { id: "asc" }]
        : [{ seq: opts.direction }];
  const rows = await db.trial.findMany({
    where: { searchId: opts.searchId, status: opts.status, search: { projectId: scope.projectId } },
    orderBy,
    take: opts.limit + 1,
    select: TRIAL_LIST_FIELDS,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, opts.limit);
  return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null };
}

export async function getTrialWithCurve(db: Db, scope: Scope, id: string) {
  return db.trial.findFirst({
    where: { id, search: { projectId: scope.projectId } },
    select: { ...TRIAL_LIST_FIELDS, curve: { orderBy: [{ attempt: "asc" }, { step: "asc" }, { id: "asc" }], select: { attempt: true, step: true, values: true } } },
  });
}

export async function saveArtifacts(db: Db, trialId: string, artifacts: ReadonlyArray<{ name: string; contentType: string; data: Buffer }>): Promise<void> {
  for (const a of artifacts) {
    const data = new Uint8Array(a.data);
    await db.trialArtifact.upsert({
      where: { trialId_name: { trialId, name: a.name } },
      create: { trialId, name: a.name, contentType: a.contentType, data },
      update: { contentType: a.contentType, data },
    });
  }
}

/** A file a trial of the scope's project produced: only what the database names can be served. */
export function getArtifact(db: Db, scope: Scope, trialId: string, name: string) {
  return db.trialArtifact.findFirst({ where: { trialId, name, trial: { search: { projectId: scope.projectId } } } });
}

export async function artifactNames(db: Db, scope: Scope, trialId: string): Promise<string[]> {
  const rows = await db.trialArtifact.findMany({ where: { trialId, trial: { search: { projectId: scope.projectId } } }, select: { name: true }, orderBy: { name: "asc" } });
  return rows.map((r) => r.name);
}
