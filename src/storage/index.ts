/**
 * The stores of datasets' bytes (PostgreSQL chunks, or an S3-compatible object store) and the two operations that
 * write a dataset with its content and delete it, used by the API (POST and DELETE /v1/datasets) and the trainers
 * (which only read, through `storeOf`). I/O like src/db/; light (no tfjs): the API process loads it.
 *
 * Nothing half-stored. In the S3 store the object is written first, inside the row's transaction and under a lock
 * on its hash (db/datasets.ts), then the row: a failed insert rolls back and the object is deleted again when no
 * row names its hash. Should even that fail (PostgreSQL gone), the object left is an orphan nobody can reach: an
 * object is only ever found through a row that names its hash, and an upload of the same bytes writes it again.
 */
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { deleteDataset, insertDataset, removeUnreferencedObject, type NewDataset } from "../db/datasets.js";
import type { Scope } from "../db/projects.js";
import type { DatasetStore, DatasetStoreName } from "./dataset-store.js";
import { PostgresDatasetStore } from "./postgres.js";
import { S3DatasetStore, type S3Settings } from "./s3.js";

export { DatasetContentMissing, ObjectStoreUnavailable, type DatasetContentRef, type DatasetStore, type DatasetStoreName } from "./dataset-store.js";

/** DATASET_STORE (default postgres) and the S3 settings; a process that only reads (a trainer) needs no DATASET_STORE. */
export type StoreSettings = Partial<Pick<Config, "DATASET_STORE">> & S3Settings;

export interface DatasetStores {
  /** Where new uploads go (DATASET_STORE). */
  readonly uploads: DatasetStore;
  /** The store a dataset row names; throws when it is `s3` and no S3 store is configured (S3_ENDPOINT, S3_BUCKET). */
  of(name: DatasetStoreName): DatasetStore;
  close(): void;
}

/** The stores of a process: PostgreSQL always, S3 when S3_ENDPOINT and S3_BUCKET are set (to read old datasets too). */
export function openDatasetStores(db: Db, settings: StoreSettings): DatasetStores {
  const postgres = new PostgresDatasetStore(db);
  const s3 = settings.S3_ENDPOINT && settings.S3_BUCKET ? new S3DatasetStore(settings) : undefined;
  const of = (name: DatasetStoreName): DatasetStore => {
    if (name === "postgres") return postgres;
    if (!s3) throw new Error("this dataset is in the S3 store, but S3_ENDPOINT and S3_BUCKET are not set in this process");
    return s3;
  };
  return { uploads: of(settings.DATASET_STORE ?? "postgres"), of, close: () => s3?.close() };
}

const opened = new WeakMap<Db, WeakMap<StoreSettings, DatasetStores>>();

/** A process's stores for `db` and `settings` (one S3 client per config object, kept for the life of the process: the trainers'). */
export function datasetStoresOf(db: Db, settings: StoreSettings): DatasetStores {
  let perConfig = opened.get(db);
  if (!perConfig) opened.set(db, (perConfig = new WeakMap()));
  let stores = perConfig.get(settings);
  if (!stores) perConfig.set(settings, (stores = openDatasetStores(db, settings)));
  return stores;
}

/** A validated upload: the dataset's row and its whole content, with views of it in PostgreSQL-sized pieces. */
export type Upload = Omit<NewDataset, "content"> & { content: Buffer; chunks: readonly Uint8Array[] };

/** Stores an upload in the store new uploads go to (see the file's comment); `created: false` when it was there. */
export async function saveDataset(db: Db, stores: DatasetStores, scope: Scope, upload: Upload): ReturnType<typeof insertDataset> {
  const { content, chunks, ...row } = upload;
  const store = stores.uploads;
  if (store.name === "postgres") return insertDataset(db, scope, { ...row, content: { store: "postgres", chunks } });
  let written = false;
  try {
    return await insertDataset(db, scope, {
      ...row,
      content: {
        store: "s3",
        put: async () => {
          await store.put(row.sha256, content);
          written = true;
        },
      },
    });
  } catch (err) {
    if (written) await removeUnreferencedObject(db, row.sha256, (sha256) => store.delete(sha256)).catch(() => {}); // else an orphan: see above
    throw err;
  }
}

/** Deletes a dataset (db/datasets.ts `deleteDataset`) and, in the S3 store, its object when no other row names it. */
export function removeDataset(db: Db, stores: DatasetStores, scope: Scope, id: string): ReturnType<typeof deleteDataset> {
  return deleteDataset(db, scope, id, (sha256) => stores.of("s3").delete(sha256));
}
