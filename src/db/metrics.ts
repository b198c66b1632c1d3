/**
 * Aggregates for the API's /metrics: service-wide counts only, nothing of any one project. Each statement is cheap
 * whatever the number of finished trials: searches are few, the trials counted are those of active searches (the
 * index on (search_id, status)), and finished trials are counted by the sequence that orders their completions.
 */
import { ACTIVE_SEARCH_STATUSES, SEARCH_STATUSES, TRIAL_STATUSES, type SearchStatus, type TrialStatus } from "../core/status.js";
import type { Db } from "./client.js";

export interface ServiceCounts {
  /** Searches by status. */
  searches: Record<SearchStatus, number>;
  /** Trials (supernet jobs included) of the searches queued or running, by status. */
  activeTrials: Record<TrialStatus, number>;
  /** Trials that reached an end state (completed, failed, pruned, cancelled) since the database was made. */
  trialsFinished: number;
}

export async function serviceCounts(db: Db): Promise<ServiceCounts> {
  const [searches, trials, finished] = await Promise.all([
    db.pool.query<{ status: SearchStatus; n: number }>(`SELECT status, count(*)::int AS n FROM searches GROUP BY status`),
    db.pool.query<{ status: TrialStatus; n: number }>(
      `SELECT t.status, count(*)::int AS n FROM searches s JOIN trials t ON t.search_id = s.id
       WHERE s.status = ANY($1::"SearchStatus"[]) GROUP BY t.status`,
      [[...ACTIVE_SEARCH_STATUSES]],
    ),
    db.pool.query<{ n: string }>(`SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM trial_finish_order`),
  ]);
  const zeros = <S extends string>(statuses: readonly S[]) => Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
  const counts = { searches: zeros(SEARCH_STATUSES), activeTrials: zeros(TRIAL_STATUSES), trialsFinished: Number(finished.rows[0]?.n ?? 0) };
  for (const r of searches.rows) counts.searches[r.status] = r.n;
  for (const r of trials.rows) counts.activeTrials[r.status] = r.n;
  return counts;
}
