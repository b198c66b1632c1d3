/**
 * Datasets (POST /v1/datasets) and their content. A dataset is one row of `datasets`; its bytes are kept where the
 * row's `store` says: `postgres`, the rows of `dataset_chunks` (about 1 MB each, in order of `seq`), so that every
 * trainer that reaches PostgreSQL can read it; or `s3`, one object named by the content hash in the S3-compatible
 * store (src/storage/, which writes and deletes it through the hooks of `insertDataset` and `deleteDataset`).
 * The row and all its chunks (or the object) are written in one transaction after the whole upload was received and
 * validated: an upload that fails or is interrupted leaves nothing. Every statement that serves a request is scoped
 * by project; the trainers read a dataset through the search that names it (`datasetOfSearch`); the only statement
 * across projects is the count of rows that share an object (`deleteDataset`), objects being shared by content.
 */
import type { DatasetKind, DatasetStats, DatasetStore } from "../datasets/kinds.js";
import { ACTIVE_SEARCH_STATUSES } from "../core/status.js";
import { transaction, type Db } from "./client.js";
import type { Scope } from "./projects.js";

export interface DatasetRow {
  id: string;
  name: string;
  kind: DatasetKind;
  bytes: number;
  sha256: string;
  stats: DatasetStats;
  store: DatasetStore;
  createdAt: Date;
  /** Ids of the project's active (queued or running) searches that train on it. */
  usedBy: string[];
}

export interface NewDataset {
  id: string;
  name: string;
  kind: DatasetKind;
  sha256: string;
  stats: DatasetStats;
  bytes: number;
  /**
   * Where the content goes: `postgres`, its pieces of about DATASET_CHUNK_BYTES (each stored as one row); `s3`,
   * `put` writes the object (idempotent: named by the hash), called inside the transaction before the row is
   * inserted and under the content's lock, so that a concurrent delete of the last other row cannot remove it.
   */
  content: { store: "postgres"; chunks: readonly Uint8Array[] } | { store: "s3"; put: () => Promise<void> };
}

/**
 * A key of pg_advisory_xact_lock per content hash (hashtext of a prefixed hash), taken by an upload to the object
 * store and by a delete that may remove an object, so that the two never interleave across projects.
 */
const CONTENT_LOCK_KEY = "dataset-content:";

/** Size of the pieces a dataset's content is stored in. */
export const DATASET_CHUNK_BYTES = 1 << 20;

const ACTIVE = ACTIVE_SEARCH_STATUSES.map((s) => `'${s}'`).join(", ");
const COLUMNS = `d.id, d.name, d.kind, d.bytes::float8 AS bytes, d.sha256, d.stats, d.store, d.created_at AS "createdAt",
  COALESCE((SELECT array_agg(s.id::text ORDER BY s.created_at) FROM searches s
            WHERE s.project_id = d.project_id AND s.status IN (${ACTIVE}) AND s.evaluator->>'dataset' = d.id), '{}') AS "usedBy"`;

export async function getDataset(db: Db, scope: Scope, id: string): Promise<DatasetRow | null> {
  const { rows } = await db.pool.query<DatasetRow>(`SELECT ${COLUMNS} FROM datasets d WHERE d.project_id = $1 AND d.id = $2`, [scope.projectId, id]);
  return rows[0] ?? null;
}

/** Newest first; `cursor` is the id of the last dataset of the previous page. */
export async function listDatasets(db: Db, scope: Scope, opts: { limit: number; cursor?: string }): Promise<{ items: DatasetRow[]; nextCursor: string | null }> {
  const { rows } = await db.pool.query<DatasetRow>(
    `SELECT ${COLUMNS} FROM datasets d
     WHERE d.project_id = $1
       AND ($3::text IS NULL OR (d.created_at, d.id) < (SELECT c.created_at, c.id FROM datasets c WHERE c.project_id = $1 AND c.id = $3))
     ORDER BY d.created_at DESC, d.id DESC LIMIT $2`,
    [scope.projectId, opts.limit + 1, opts.cursor ?? null],
  );
  const items = rows.slice(0, opts.limit);
  return { items, nextCursor: rows.length > opts.limit ? items.at(-1)!.id : null };
}

/**
 * Stores a dataset and its content in one transaction: its chunks after the row (PostgreSQL), or its object before
 * it (S3: `content.put`, under the content's lock; a failed insert rolls the row back, and the caller removes the
 * object again, src/storage/index.ts). The same content (same id) already in the project: nothing is written and the
 * stored dataset is returned with `created: false` (its first name is kept).
 */
export async function insertDataset(db: Db, scope: Scope, d: NewDataset): Promise<{ dataset: DatasetRow; created: boolean }> {
  const created = await transaction(db, async (client) => {
    const { content } = d;
    if (content.store === "s3") {
      const exists = await client.query("SELECT 1 FROM datasets WHERE project_id = $1 AND id = $2", [scope.projectId, d.id]);
      if (exists.rows[0]) return false;
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [CONTENT_LOCK_KEY + d.sha256]);
      await content.put();
    }
    const inserted = await client.query(
      `INSERT INTO datasets (project_id, id, name, kind, bytes, sha256, stats, store) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (project_id, id) DO NOTHING RETURNING id`,
      [scope.projectId, d.id, d.name, d.kind, d.bytes, d.sha256, JSON.stringify(d.stats), content.store],
    );
    if (inserted.rowCount === 0) return false;
    if (content.store === "postgres") {
      for (const [seq, chunk] of content.chunks.entries()) {
        await client.query("INSERT INTO dataset_chunks (project_id, dataset_id, seq, data) VALUES ($1, $2, $3, $4)", [scope.projectId, d.id, seq, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)]);
      }
    }
    return true;
  });
  const dataset = await getDataset(db, scope, d.id);
  if (!dataset) throw new Error(`dataset ${d.id} vanished after it was stored`);
  return { dataset, created };
}

/**
 * Deletes a dataset and its content, unless an active search of the project trains on it, or a model is being
 * retrained from a search on it (the row is locked while they are counted). Returns "deleted", "not_found", or the
 * ids of the searches (or models) that use it.
 *
 * Chunks in PostgreSQL go with the row. An object in the S3 store is shared by every row (of any project) with the
 * same hash: when no other row names it, `removeObject` is called inside the transaction, under the content's lock
 * (so an upload of the same bytes waits and then writes it again); if it fails the row stays (nothing half-deleted).
 */
export async function deleteDataset(
  db: Db,
  scope: Scope,
  id: string,
  removeObject?: (sha256: string) => Promise<void>,
): Promise<"deleted" | "not_found" | { usedBy: string[]; trainingModels?: string[] }> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ id: string; sha256: string; store: DatasetStore }>("SELECT id, sha256, store FROM datasets WHERE project_id = $1 AND id = $2 FOR UPDATE", [scope.projectId, id]);
    if (!rows[0]) return "not_found";
    const { sha256, store } = rows[0];
    const used = await client.query<{ id: string }>(`SELECT id::text FROM searches WHERE project_id = $1 AND status IN (${ACTIVE}) AND evaluator->>'dataset' = $2 ORDER BY created_at`, [scope.projectId, id]);
    if (used.rows.length > 0) return { usedBy: used.rows.map((r) => r.id) };
    // A model being retrained from a search on it reads it too (POST /v1/searches/:id/retrain).
    const training = await client.query<{ id: string }>(
      `SELECT m.id::text FROM models m JOIN searches s ON s.id = m.search_id
       WHERE m.project_id = $1 AND m.status = 'training' AND s.evaluator->>'dataset' = $2 ORDER BY m.created_at`,
      [scope.projectId, id],
    );
    if (training.rows.length > 0) return { usedBy: [], trainingModels: training.rows.map((r) => r.id) };
    await client.query("DELETE FROM datasets WHERE project_id = $1 AND id = $2", [scope.projectId, id]);
    if (store === "s3") {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [CONTENT_LOCK_KEY + sha256]);
      // System: objects are shared by content across projects; only the count is read, no other project's row.
      const others = await client.query("SELECT 1 FROM datasets WHERE sha256 = $1 AND store = 's3' LIMIT 1", [sha256]);
      if (others.rows.length === 0) {
        if (!removeObject) throw new Error(`dataset ${id} is in the S3 store, and no S3 store is configured to delete it from`);
        await removeObject(sha256);
      }
    }
    return "deleted";
  });
}

/**
 * Calls `remove` for the object of `sha256` unless a dataset row (of any project) in the S3 store names it, under the
 * content's lock: the clean-up after an upload whose row could not be inserted.
 */
export async function removeUnreferencedObject(db: Db, sha256: string, remove: (sha256: string) => Promise<void>): Promise<void> {
  await transaction(db, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [CONTENT_LOCK_KEY + sha256]);
    // System: objects are shared by content across projects; only whether a row names it is read.
    const { rows } = await client.query("SELECT 1 FROM datasets WHERE sha256 = $1 AND store = 's3' LIMIT 1", [sha256]);
    if (rows.length === 0) await remove(sha256);
  });
}

/** What a trainer needs to find a dataset's content: its project's row, through the search that trains on it. */
export interface StoredDataset {
  projectId: string;
  id: string;
  kind: DatasetKind;
  sha256: string;
  bytes: number;
  /** Where its bytes are (whatever DATASET_STORE says now: the row was written under the setting of its day). */
  store: DatasetStore;
  /** Its rows in dataset_chunks (0 for a dataset in the S3 store). */
  chunks: number;
}

/** The dataset `datasetId` of the project of search `searchId` (system: the trainer acts on the search its job names). */
export async function datasetOfSearch(db: Db, searchId: string, datasetId: string): Promise<StoredDataset | null> {
  const { rows } = await db.pool.query<StoredDataset>(
    `SELECT d.project_id AS "projectId", d.id, d.kind, d.sha256, d.bytes::float8 AS bytes, d.store,
            (SELECT count(*)::int FROM dataset_chunks c WHERE c.project_id = d.project_id AND c.dataset_id = d.id) AS chunks
     FROM searches s JOIN datasets d ON d.project_id = s.project_id AND d.id = $2 WHERE s.id = $1`,
    [searchId, datasetId],
  );
  return rows[0] ?? null;
}

/** The content of a stored dataset, one chunk at a time in order (so a large dataset is never one result). */
export async function* datasetChunks(db: Db, d: Pick<StoredDataset, "projectId" | "id" | "chunks">): AsyncGenerator<Buffer> {
  for (let seq = 0; seq < d.chunks; seq++) {
    const { rows } = await db.pool.query<{ data: Buffer }>("SELECT data FROM dataset_chunks WHERE project_id = $1 AND dataset_id = $2 AND seq = $3", [d.projectId, d.id, seq]);
    if (!rows[0]) throw new Error(`dataset ${d.id}: chunk ${seq} of ${d.chunks} is missing`);
    yield rows[0].data;
  }
}
