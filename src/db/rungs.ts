/**
 * The trainer's side of multi-fidelity scheduling. A trial that reaches one of its rung budgets records its score
 * there (`reportRung`) and asks the orchestrator to advance its search; the orchestrator decides every pending
 * report under the search's lock (orchestrator/advance.ts) and writes the decision, which the trainer reads
 * (`rungDecision`). So the scheduler's state has one writer, and a trainer waits at a rung for the decision, as
 * it would if the scheduler were in process: a pruned trial stops at the step it was pruned at.
 */
import type { Db } from "./client.js";

export type RungDecision = "continue" | "prune";

/**
 * Records that attempt `attempt` of a running trial scored `score` (higher is better) at `budget`. Returns the
 * report's id, or null when the trial is no longer running that attempt (cancelled, or handed to another trainer).
 */
export async function reportRung(db: Db, trialId: string, attempt: number, budget: number, score: number): Promise<string | null> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO rung_reports (trial_id, search_id, attempt, budget, score)
     SELECT id, search_id, $2, $3, $4 FROM trials WHERE id = $1 AND status = 'running' AND attempts = $2
     RETURNING id::text`,
    [trialId, attempt, budget, score],
  );
  return rows[0]?.id ?? null;
}

/** The decision on a rung report, or null while the orchestrator has not made it. */
export async function rungDecision(db: Db, reportId: string): Promise<RungDecision | null> {
  const { rows } = await db.pool.query<{ decision: RungDecision | null }>(`SELECT decision FROM rung_reports WHERE id = $1`, [reportId]);
  return rows[0]?.decision ?? null;
}

/**
 * `reportRung` safe to run again (a trainer retries it after a lost connection, not knowing whether the first one
 * committed): the report of this attempt at this budget if there is one already, else a new one. Null, as there,
 * when the trial is no longer running that attempt.
 */
export async function reportRungOnce(db: Db, trialId: string, attempt: number, budget: number, score: number): Promise<string | null> {
  const { rows } = await db.pool.query<{ id: string }>(
    `WITH trial AS (
       SELECT id, search_id FROM trials WHERE id = $1 AND status = 'running' AND attempts = $2
     ), existing AS (
       SELECT r.id FROM rung_reports r JOIN trial ON r.search_id = trial.search_id AND r.trial_id = trial.id
       WHERE r.attempt = $2 AND r.budget = $3 ORDER BY r.id LIMIT 1
     ), inserted AS (
       INSERT INTO rung_reports (trial_id, search_id, attempt, budget, score)
       SELECT id, search_id, $2, $3, $4 FROM trial WHERE NOT EXISTS (SELECT 1 FROM existing)
       RETURNING id
     )
     SELECT id::text FROM existing UNION ALL SELECT id::text FROM inserted`,
    [trialId, attempt, budget, score],
  );
  return rows[0]?.id ?? null;
}
