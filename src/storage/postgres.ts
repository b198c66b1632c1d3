/**
 * The default store: a dataset's bytes as rows of `dataset_chunks` in PostgreSQL (db/datasets.ts), so that every
 * trainer that reaches the database can read them. The chunks belong to their dataset row: they are inserted in the
 * row's own transaction (`insertDataset` with `content.store = "postgres"`) and deleted with it (ON DELETE CASCADE),
 * so `put` and `delete` have nothing to do here; the store only reads.
 */
import type { Db } from "../db/client.js";
import { datasetChunks } from "../db/datasets.js";
import type { DatasetContentRef, DatasetStore } from "./dataset-store.js";

export class PostgresDatasetStore implements DatasetStore {
  readonly name = "postgres" as const;

  constructor(private readonly db: Db) {}

  /** Nothing before the row: the chunks are written in the row's transaction (see the file's comment). */
  async put(): Promise<void> {}

  get(ref: DatasetContentRef): AsyncIterable<Uint8Array> {
    return datasetChunks(this.db, ref);
  }

  /** Nothing after the row: its chunks went with it. */
  async delete(): Promise<void> {}
}
