/**
 * The leaderboard: best completed trials across all searches of a project's space and task, one row per distinct
 * architecture (canonical hash), ranked by objective. Served from `leaderboard_entries`, which completing a trial
 * keeps up to date, so a request is one index range scan whatever the number of trials.
 */
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

export interface LeaderboardRow {
  rank: number;
  archHash: string;
  objective: number;
  trialId: string;
  searchId: string;
  architecture: unknown;
  metrics: unknown;
}

export async function leaderboard(db: Db, scope: Scope, q: { space: string; task: string; metric: string; limit: number }): Promise<LeaderboardRow[]> {
  const { rows } = await db.pool.query<Omit<LeaderboardRow, "rank">>(
    `SELECT e.arch_hash AS "archHash", e.objective, e.trial_id AS "trialId", e.search_id AS "searchId",
       t.architecture, t.metrics
     FROM leaderboard_entries e JOIN trials t ON t.id = e.trial_id
     WHERE e.project_id = $5 AND e.space = $1 AND e.task = $2 AND e.metric = $3
     ORDER BY e.score DESC, e.arch_hash
     LIMIT $4`,
    [q.space, q.task, q.metric, q.limit, scope.projectId],
  );
  return rows.map((r, i) => ({ rank: i + 1, ...r }));
}
