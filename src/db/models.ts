/**
 * Statements about trained weights and models: the weights of a search's best trials (the top SEARCH_KEEP_TOP_K by
 * objective; the others' are deleted as better ones arrive) and the models retrained from a search's best
 * architecture (POST /v1/searches/:id/retrain). A model is `training` until a trainer stores its weights and test
 * scores (`ready`) or gives up (`failed`).
 *
 * Statements that serve a request take the request's Scope and filter by its project (another project's models
 * are not found); the trainer's (keepTrialWeights, claimModel, finishModel, failModel, modelFiles) act for the
 * system on the rows their jobs name.
 */
import type { JsonValue } from "../core/json.js";
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

export type ModelStatus = "training" | "ready" | "failed";

/** The files of a model (src/models/artifact/format.ts): model.json's content and weights.bin's bytes. */
export interface StoredModelFiles {
  manifest: JsonValue;
  weights: Buffer;
}

/**
 * Keeps a completed trial's weights if it is among the `k` best trials of its search (by the search's objective
 * direction), and deletes the weights of those it pushes out. A trial that is not among them stores nothing.
 */
export async function keepTrialWeights(db: Db, trialId: string, objective: number, files: StoredModelFiles, k: number): Promise<boolean> {
  if (k <= 0) return false;
  const { rows } = await db.pool.query<{ searchId: string }>(
    `WITH t AS (
       SELECT t.search_id, s.objective_direction = 'maximize' AS maximize FROM trials t JOIN searches s ON s.id = t.search_id WHERE t.id = $1
     ), better AS (
       SELECT count(*) AS n FROM trial_weights w, t
       WHERE w.search_id = t.search_id AND w.trial_id <> $1 AND CASE WHEN t.maximize THEN w.objective > $2 ELSE w.objective < $2 END
     )
     INSERT INTO trial_weights (trial_id, search_id, objective, manifest, weights)
     SELECT $1, t.search_id, $2, $3::jsonb, $4 FROM t, better WHERE better.n < $5
     ON CONFLICT (trial_id) DO UPDATE SET objective = EXCLUDED.objective, manifest = EXCLUDED.manifest, weights = EXCLUDED.weights, created_at = now()
     RETURNING search_id AS "searchId"`,
    [trialId, objective, JSON.stringify(files.manifest), files.weights, k],
  );
  const searchId = rows[0]?.searchId;
  if (!searchId) return false;
  await db.pool.query(
    `DELETE FROM trial_weights WHERE trial_id IN (
       SELECT w.trial_id FROM trial_weights w JOIN searches s ON s.id = w.search_id WHERE w.search_id = $1
       ORDER BY CASE WHEN s.objective_direction = 'maximize' THEN -w.objective ELSE w.objective END, w.created_at, w.trial_id
       OFFSET $2)`,
    [searchId, k],
  );
  return true;
}

/** The trials of a search whose weights are kept, best first. */
export async function keptTrials(db: Db, scope: Scope, searchId: string): Promise<Array<{ trialId: string; objective: number }>> {
  const { rows } = await db.pool.query<{ trialId: string; objective: number }>(
    `SELECT w.trial_id AS "trialId", w.objective FROM trial_weights w JOIN searches s ON s.id = w.search_id
     WHERE w.search_id = $1 AND s.project_id = $2
     ORDER BY CASE WHEN s.objective_direction = 'maximize' THEN -w.objective ELSE w.objective END, w.created_at, w.trial_id`,
    [searchId, scope.projectId],
  );
  return rows;
}

/** A trial's kept weights (GET /v1/trials/:id/model), or null. */
export async function trialWeights(db: Db, scope: Scope, trialId: string): Promise<StoredModelFiles | null> {
  const { rows } = await db.pool.query<StoredModelFiles>(
    `SELECT w.manifest, w.weights FROM trial_weights w JOIN searches s ON s.id = w.search_id WHERE w.trial_id = $1 AND s.project_id = $2`,
    [trialId, scope.projectId],
  );
  return rows[0] ?? null;
}

/** A model as the API shows it (its weights aside). */
export interface ModelRow {
  id: string;
  searchId: string;
  trialId: string | null;
  status: ModelStatus;
  family: string;
  architecture: JsonValue;
  steps: number;
  metrics: Record<string, JsonValue> | null;
  error: string | null;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** From the search: its name, space and task (the model's data). */
  space: string;
  task: string;
}

const MODEL_COLUMNS = `m.id, m.search_id AS "searchId", m.trial_id AS "trialId", m.status, m.family, m.architecture, m.steps, m.metrics, m.error,
  m.attempts, m.created_at AS "createdAt", m.started_at AS "startedAt", m.finished_at AS "finishedAt", s.space, s.task`;

/** The best completed trial of a search of the scope's project (null when it has none, or no such search). */
export async function bestTrial(db: Db, scope: Scope, searchId: string): Promise<{ id: string; architecture: JsonValue; objective: number; evaluatorType: string } | null> {
  const { rows } = await db.pool.query<{ id: string; architecture: JsonValue; objective: number; evaluatorType: string }>(
    `SELECT t.id, t.architecture, t.objective, s.evaluator->>'type' AS "evaluatorType" FROM trials t JOIN searches s ON s.id = t.search_id
     WHERE t.search_id = $1 AND s.project_id = $2 AND t.kind = 'trial' AND t.status = 'completed' AND t.objective IS NOT NULL
     ORDER BY CASE WHEN s.objective_direction = 'maximize' THEN -t.objective ELSE t.objective END, t.finished_seq LIMIT 1`,
    [searchId, scope.projectId],
  );
  return rows[0] ?? null;
}

/** Stores a model to retrain (status training) for the scope's project. */
export async function createModel(db: Db, scope: Scope, data: { searchId: string; trialId: string; architecture: JsonValue; steps: number; family: string }): Promise<ModelRow> {
  const { rows } = await db.pool.query<ModelRow>(
    `WITH m AS (
       INSERT INTO models (id, project_id, search_id, trial_id, architecture, steps, family)
       VALUES (gen_random_uuid(), $1, $2, $3, $4::jsonb, $5, $6) RETURNING *
     ) SELECT ${MODEL_COLUMNS} FROM m JOIN searches s ON s.id = m.search_id`,
    [scope.projectId, data.searchId, data.trialId, JSON.stringify(data.architecture), data.steps, data.family],
  );
  return rows[0]!;
}

export async function getModel(db: Db, scope: Scope, id: string): Promise<(ModelRow & { manifest: JsonValue | null }) | null> {
  const { rows } = await db.pool.query<ModelRow & { manifest: JsonValue | null }>(
    `SELECT ${MODEL_COLUMNS}, m.manifest - 'weightsManifest' AS manifest FROM models m JOIN searches s ON s.id = m.search_id WHERE m.id = $1 AND m.project_id = $2`,
    [id, scope.projectId],
  );
  return rows[0] ?? null;
}

/** The project's models, newest first; `cursor` is the id of the last model of the previous page. */
export async function listModels(db: Db, scope: Scope, opts: { limit: number; cursor?: string; searchId?: string }): Promise<{ items: ModelRow[]; nextCursor: string | null }> {
  const { rows } = await db.pool.query<ModelRow>(
    `SELECT ${MODEL_COLUMNS} FROM models m JOIN searches s ON s.id = m.search_id
     WHERE m.project_id = $1 AND ($2::uuid IS NULL OR m.search_id = $2)
       AND ($3::uuid IS NULL OR (m.created_at, m.id) < (SELECT created_at, id FROM models WHERE id = $3))
     ORDER BY m.created_at DESC, m.id DESC LIMIT $4`,
    [scope.projectId, opts.searchId ?? null, opts.cursor ?? null, opts.limit + 1],
  );
  const items = rows.slice(0, opts.limit);
  return { items, nextCursor: rows.length > opts.limit ? items.at(-1)!.id : null };
}

/** A ready model's files, for a download (scoped) or for a trainer's inference (`scope` null: the system). */
export async function modelFiles(db: Db, scope: Scope | null, id: string): Promise<StoredModelFiles | null> {
  const { rows } = await db.pool.query<StoredModelFiles>(
    `SELECT manifest, weights FROM models WHERE id = $1 AND status = 'ready' AND ($2::uuid IS NULL OR project_id = $2)`,
    [id, scope?.projectId ?? null],
  );
  return rows[0] ?? null;
}

/** What a trainer needs to retrain a model: the model's architecture and steps, and its search's evaluator and space. */
export interface ModelRun {
  id: string;
  attempt: number;
  steps: number;
  architecture: JsonValue;
  searchId: string;
  space: string;
  spaceDefinition: JsonValue | null;
  evaluator: { type: string } & Record<string, unknown>;
  objectiveMetric: string;
  objectiveDirection: "minimize" | "maximize";
  seed: number;
  /** The sequence number of the trial it retrains (its seed is that trial's), or null if that trial is gone. */
  trialSeq: number | null;
}

/** Counts an attempt at a model still training; null when it is finished (the job is then dropped). */
export async function claimModel(db: Db, id: string, worker: string): Promise<ModelRun | null> {
  const { rows } = await db.pool.query<ModelRun>(
    `UPDATE models m SET attempts = m.attempts + 1, worker = $2, started_at = COALESCE(m.started_at, now())
     FROM searches s WHERE m.id = $1 AND s.id = m.search_id AND m.status = 'training'
     RETURNING m.id, m.attempts AS attempt, m.steps, m.architecture, m.search_id AS "searchId", s.space, s.space_definition AS "spaceDefinition",
       s.evaluator, s.objective_metric AS "objectiveMetric", s.objective_direction AS "objectiveDirection", s.seed,
       (SELECT seq FROM trials WHERE id = m.trial_id) AS "trialSeq"`,
    [id, worker],
  );
  return rows[0] ?? null;
}

/** Stores a retrained model's scores and files once (ready). False when it was already finished. */
export async function finishModel(db: Db, id: string, metrics: Record<string, unknown>, files: StoredModelFiles): Promise<boolean> {
  const { rowCount } = await db.pool.query(
    `UPDATE models SET status = 'ready', metrics = $2::jsonb, manifest = $3::jsonb, weights = $4, error = NULL, finished_at = now()
     WHERE id = $1 AND status = 'training'`,
    [id, JSON.stringify(metrics), JSON.stringify(files.manifest), files.weights],
  );
  return (rowCount ?? 0) > 0;
}

export async function failModel(db: Db, id: string, error: string): Promise<boolean> {
  const { rowCount } = await db.pool.query(`UPDATE models SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status = 'training'`, [id, error]);
  return (rowCount ?? 0) > 0;
}

/** Models still training (the reconciler checks each has a job). */
export async function modelsInTraining(db: Db): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM models WHERE status = 'training'`);
  return rows.map((r) => r.id);
}
