/**
 * Statements of a search's trials export (GET /v1/searches/:id/trials.csv and .jsonl): the keys its trials'
 * architectures and metrics use (the export's columns), then the trials in pages by `seq`, so that a large search
 * streams in bounded memory. Scoped by the request's project: another project's search has no trials here.
 */
import type { JsonValue } from "../core/json.js";
import type { TrialStatus } from "../core/status.js";
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

export interface ExportTrialRow {
  id: string;
  seq: number;
  kind: string;
  status: TrialStatus;
  parentId: string | null;
  archHash: string;
  architecture: JsonValue;
  metrics: JsonValue | null;
  objective: number | null;
  attempts: number;
  worker: string | null;
  error: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The keys used by the search's trials' architectures and metrics, each sorted. */
export async function exportKeys(db: Db, scope: Scope, searchId: string): Promise<{ architecture: string[]; metrics: string[] }> {
  const { rows } = await db.pool.query<{ source: "architecture" | "metrics"; key: string }>(
    `SELECT DISTINCT 'architecture' AS source, jsonb_object_keys(t.architecture) AS key
       FROM trials t JOIN searches s ON s.id = t.search_id
      WHERE t.search_id = $1 AND s.project_id = $2 AND jsonb_typeof(t.architecture) = 'object'
     UNION
     SELECT DISTINCT 'metrics', jsonb_object_keys(t.metrics)
       FROM trials t JOIN searches s ON s.id = t.search_id
      WHERE t.search_id = $1 AND s.project_id = $2 AND jsonb_typeof(t.metrics) = 'object'
     ORDER BY 1, 2`,
    [searchId, scope.projectId],
  );
  return {
    architecture: rows.filter((r) => r.source === "architecture").map((r) => r.key),
    metrics: rows.filter((r) => r.source === "metrics").map((r) => r.key),
  };
}

/** Up to `limit` trials of the search after `afterSeq` (−1 for the first page), by seq. */
export async function exportTrialPage(db: Db, scope: Scope, searchId: string, afterSeq: number, limit: number): Promise<ExportTrialRow[]> {
  const { rows } = await db.pool.query<ExportTrialRow>(
    `SELECT t.id, t.seq, t.kind, t.status, t.parent_id AS "parentId", t.arch_hash AS "archHash", t.architecture, t.metrics,
            t.objective, t.attempts, t.worker, t.error, t.queued_at AS "queuedAt", t.started_at AS "startedAt", t.finished_at AS "finishedAt"
       FROM trials t JOIN searches s ON s.id = t.search_id
      WHERE t.search_id = $1 AND s.project_id = $2 AND t.seq > $3
      ORDER BY t.seq LIMIT $4`,
    [searchId, scope.projectId, afterSeq, limit],
  );
  return rows;
}
