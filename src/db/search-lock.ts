/**
 * `withSearchLock(db, searchId, fn)`: the one way to serialise writes to a search. It runs `fn` in a transaction
 * that holds the search's row `FOR UPDATE`, so advances (the orchestrator) and a cancel (the API) of one search
 * never interleave, across any number of processes. `fn` gets the locked row and the statements that may run
 * under the lock (LockedSearch); the transaction commits when `fn` resolves and rolls back when it throws.
 *
 * Trainers never take it: they write their own trial's row with conditional updates (db/trials.ts) and record
 * rung scores for the orchestrator to decide (db/rungs.ts).
 */
import type pg from "pg";
import type { JsonValue } from "../core/json.js";
import type { SearchStatus, TrialKind, TrialStatus } from "../core/status.js";
import { transaction, type Db } from "./client.js";

/** The search's row as the orchestrator needs it. */
export interface LockedSearchRow {
  id: string;
  projectId: string;
  status: SearchStatus;
  space: string;
  /** The space's definition as snapshotted with the search (null for searches stored before snapshots). */
  spaceDefinition: unknown;
  strategy: { type: string } & Record<string, unknown>;
  strategyState: JsonValue | null;
  evaluator: { type: string } & Record<string, unknown>;
  scheduler: ({ type: string } & Record<string, unknown>) | null;
  schedulerState: JsonValue | null;
  seed: number;
  objectiveDirection: "minimize" | "maximize";
  objectiveMetric: string;
  /** Multi-objective searches: every objective, and the constraints on metrics (null when none were given). */
  objectiveList: unknown;
  constraints: unknown;
  maxTrials: number;
  maxParallel: number;
  maxFailures: number;
  trialsCreated: number;
  /** Estimated training FLOPs of the trials created so far, and whether proposing stopped at the budget. */
  computeFlops: number;
  computeExhausted: boolean;
  /** The project's searches queued or running, this one included. */
  projectActive: number;
}

/** A search of the same project, with what it may run at once and what it runs. */
export interface ProjectSearchLoad {
  id: string;
  maxParallel: number;
  inFlight: number;
}

/** A finished trial the strategy has not been told yet. */
export interface UntoldTrial {
  id: string;
  kind: TrialKind;
  architecture: Record<string, unknown>;
  status: "completed" | "failed" | "pruned";
  objective: number | null;
  metrics: Record<string, unknown> | null;
  parentId: string | null;
}

/** Trials of the search by kind, status and whether the strategy was told them. */
export interface TrialCount {
  kind: TrialKind;
  status: TrialStatus;
  told: boolean;
  n: number;
}

export interface NewTrial {
  id: string;
  kind: TrialKind;
  /** A trial refused before it is queued (e.g. too large) is stored failed, with this reason, and told as such. */
  failed?: string;
  architecture: JsonValue;
  archHash: string;
  parentId: string | null;
  /** Rung budgets under a scheduler. */
  budgets: number[] | null;
  /** A job's own evaluator config. */
  evaluator: JsonValue | null;
}

export interface PendingRungReport {
  id: string;
  trialId: string;
  budget: number;
  score: number;
}

export class LockedSearch {
  constructor(
    private readonly client: pg.PoolClient,
    readonly row: LockedSearchRow,
  ) {}

  /**
   * Marks the finished trials the strategy has not been told as told, and returns them in completion order. A trial
   * that finishes after this statement is told by the next advance.
   */
  async takeUntold(): Promise<UntoldTrial[]> {
    const { rows } = await this.client.query<UntoldTrial & { finished_seq: string }>(
      `UPDATE trials SET told = true
       WHERE search_id = $1 AND told = false AND status IN ('completed', 'failed', 'pruned')
       RETURNING id, kind, architecture, status, objective, metrics, parent_id AS "parentId", finished_seq`,
      [this.row.id],
    );
    return rows
      .sort((a, b) => Number(BigInt(a.finished_seq) - BigInt(b.finished_seq)))
      .map(({ finished_seq: _, ...t }) => t);
  }

  /** One snapshot of the search's trials, counted by kind, status and told. */
  async countTrials(): Promise<TrialCount[]> {
    const { rows } = await this.client.query<{ kind: TrialKind; status: TrialStatus; told: boolean; n: string }>(
      `SELECT kind, status, told, count(*) AS n FROM trials WHERE search_id = $1 GROUP BY kind, status, told`,
      [this.row.id],
    );
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Rung scores trainers recorded that are not decided yet, in the order they were recorded. */
  async pendingRungReports(): Promise<PendingRungReport[]> {
    const { rows } = await this.client.query<PendingRungReport>(
      `SELECT id::text, trial_id AS "trialId", budget, score FROM rung_reports WHERE search_id = $1 AND decision IS NULL ORDER BY id`,
      [this.row.id],
    );
    return rows;
  }

  async decideRungReports(decisions: ReadonlyArray<{ id: string; decision: "continue" | "prune" }>): Promise<void> {
    if (decisions.length === 0) return;
    await this.client.query(
      `UPDATE rung_reports r SET decision = d.decision, decided_at = now()
       FROM unnest($1::bigint[], $2::text[]) AS d(id, decision) WHERE r.id = d.id`,
      [decisions.map((d) => d.id), decisions.map((d) => d.decision)],
    );
  }

  /**
   * The active searches of this search's project (itself included) with their in-flight trials: the project's quota
   * of trials in flight is shared among them.
   */
  async projectLoad(): Promise<ProjectSearchLoad[]> {
    const { rows } = await this.client.query<{ id: string; maxParallel: number; inFlight: string }>(
      `SELECT s.id, s.max_parallel AS "maxParallel", count(t.id) AS "inFlight"
       FROM searches s LEFT JOIN trials t ON t.search_id = s.id AND t.status IN ('queued', 'running')
       WHERE s.project_id = $1 AND s.status IN ('queued', 'running')
       GROUP BY s.id ORDER BY s.id`,
      [this.row.projectId],
    );
    return rows.map((r) => ({ id: r.id, maxParallel: r.maxParallel, inFlight: Number(r.inFlight) }));
  }

  /** Inserts trials (queued, or failed when refused, in order after the search's last). */
  async insertTrials(trials: readonly NewTrial[]): Promise<void> {
    if (trials.length === 0) return;
    await this.client.query(
      `INSERT INTO trials (id, search_id, seq, kind, architecture, arch_hash, parent_id, budgets, evaluator, status, error, finished_at, finished_seq)
       SELECT t.id, $1, t.seq, t.kind, t.arch, t.hash, t.parent, CASE WHEN jsonb_typeof(t.budgets) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(t.budgets)::float8) END, t.evaluator,
         CASE WHEN t.failed IS NULL THEN 'queued' ELSE 'failed' END::"TrialStatus", t.failed,
         CASE WHEN t.failed IS NULL THEN NULL ELSE now() END, CASE WHEN t.failed IS NULL THEN NULL ELSE nextval('trial_finish_order') END
       FROM unnest($2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::text[], $7::uuid[], $8::jsonb[], $9::jsonb[], $10::text[])
         AS t(id, seq, kind, arch, hash, parent, budgets, evaluator, failed)`,
      [
        this.row.id,
        trials.map((t) => t.id),
        trials.map((_, i) => this.row.trialsCreated + i),
        trials.map((t) => t.kind),
        trials.map((t) => JSON.stringify(t.architecture)),
        trials.map((t) => t.archHash),
        trials.map((t) => t.parentId),
        trials.map((t) => JSON.stringify(t.budgets)),
        trials.map((t) => (t.evaluator === null ? null : JSON.stringify(t.evaluator))),
        trials.map((t) => t.failed ?? null),
      ],
    );
  }

  /**
   * Records an advance: the search runs, `created` more trials exist costing `flops` more, proposing stopped at the
   * compute budget (or not), and the strategy's and scheduler's state.
   */
  async saveProgress(progress: { created: number; flops: number; computeExhausted: boolean }, strategyState: JsonValue, schedulerState: JsonValue | null): Promise<void> {
    await this.client.query(
      `UPDATE searches SET status = 'running', started_at = COALESCE(started_at, now()), updated_at = now(),
         trials_created = trials_created + $2, compute_flops = compute_flops + $5, compute_exhausted = $6,
         strategy_state = $3::jsonb, scheduler_state = COALESCE($4::jsonb, scheduler_state)
       WHERE id = $1`,
      [this.row.id, progress.created, JSON.stringify(strategyState), schedulerState === null ? null : JSON.stringify(schedulerState), progress.flops, progress.computeExhausted],
    );
  }

  /** Ends the search: its unfinished trials are cancelled; the states given (if any) are stored. */
  async end(status: "completed" | "failed" | "cancelled", error: string | null, states: { strategy?: JsonValue; scheduler?: JsonValue | null } = {}): Promise<void> {
    await this.client.query(`UPDATE trials SET status = 'cancelled', finished_at = now() WHERE search_id = $1 AND status IN ('queued', 'running')`, [this.row.id]);
    await this.client.query(
      `UPDATE searches SET status = $2::"SearchStatus", error = $3, finished_at = now(), updated_at = now(),
         strategy_state = COALESCE($4::jsonb, strategy_state), scheduler_state = COALESCE($5::jsonb, scheduler_state)
       WHERE id = $1`,
      [
        this.row.id,
        status,
        error,
        states.strategy === undefined ? null : JSON.stringify(states.strategy),
        states.scheduler === undefined || states.scheduler === null ? null : JSON.stringify(states.scheduler),
      ],
    );
  }
}

/**
 * Runs `fn` with the search's row locked (see the top of this file). Returns null, without calling `fn`, when the
 * search does not exist.
 */
export async function withSearchLock<T>(db: Db, searchId: string, fn: (search: LockedSearch) => Promise<T>): Promise<T | null> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<LockedSearchRow>(
      `SELECT id, project_id AS "projectId", status, space, space_definition AS "spaceDefinition", strategy, strategy_state AS "strategyState", evaluator, scheduler, scheduler_state AS "schedulerState", seed,
         objective_direction AS "objectiveDirection", objective_metric AS "objectiveMetric", objective_list AS "objectiveList", constraints, max_trials AS "maxTrials", max_parallel AS "maxParallel", max_failures AS "maxFailures",
         trials_created AS "trialsCreated", compute_flops AS "computeFlops", compute_exhausted AS "computeExhausted",
         (SELECT count(*)::int FROM searches p WHERE p.project_id = searches.project_id AND p.status IN ('queued', 'running')) AS "projectActive"
       FROM searches WHERE id = $1 FOR UPDATE`,
      [searchId],
    );
    return rows[0] ? fn(new LockedSearch(client, rows[0])) : null;
  });
}
