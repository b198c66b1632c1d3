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
  // The entries are ranked and cut first, then joined to their trials: joining first read every entry's trial
  // before the sort (0.84 → 0.33 ms with 300 entries, more with more). A named statement: planned once per connection.
  const { rows } = await db.pool.query<Omit<LeaderboardRow, "rank">>({
    name: "leaderboard",
    text: `SELECT e.arch_hash AS "archHash", e.objective, e.trial_id AS "trialId", e.search_id AS "searchId", t.architecture, t.metrics
     FROM (SELECT arch_hash, objective, trial_id, search_id, score FROM leaderboard_entries
           WHERE project_id = $5 AND space = $1 AND task = $2 AND metric = $3
           ORDER BY score DESC, arch_hash LIMIT $4) e
     JOIN trials t ON t.id = e.trial_id
     ORDER BY e.score DESC, e.arch_hash`,
    values: [q.space, q.task, q.metric, q.limit, scope.projectId],
  });
  return rows.map((r, i) => ({ rank: i + 1, ...r }));
}
