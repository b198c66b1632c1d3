/**
 * Where a dataset's bytes are kept, by content hash: the interface both stores implement, and the errors a store
 * raises. A dataset row names its store (`datasets.store`), so a reader asks that store, whatever DATASET_STORE says
 * now (switching the setting orphans nothing: old datasets are read where they were written).
 *
 * Concurrency: `put` and `delete` of the same hash are serialised by the caller (db/datasets.ts takes an advisory
 * lock on the hash around them); `get` may run at any time, from any process.
 */
import { InfraError } from "../core/errors.js";
import type { DatasetStore as DatasetStoreName } from "../datasets/kinds.js";

export type { DatasetStoreName };

/** What a store needs to find a dataset's bytes (db/datasets.ts `StoredDataset` has it). */
export interface DatasetContentRef {
  projectId: string;
  id: string;
  sha256: string;
  /** Its rows in dataset_chunks (PostgreSQL store only). */
  chunks: number;
}

export interface DatasetStore {
  readonly name: DatasetStoreName;
  /**
   * Keeps `content` as the bytes of hash `sha256`. Idempotent: the same bytes twice are one copy. Throws
   * ObjectStoreUnavailable when the store cannot be reached (nothing written).
   */
  put(sha256: string, content: Uint8Array): Promise<void>;
  /** The bytes of a stored dataset, in order, a piece at a time (never one buffer of the whole file). */
  get(ref: DatasetContentRef): AsyncIterable<Uint8Array>;
  /** Removes the bytes of `sha256` (called once no dataset row names them); no error when they are already gone. */
  delete(sha256: string): Promise<void>;
}

/**
 * The S3-compatible store could not be reached (refused, timed out, answered 5xx). An infrastructure error like an
 * outage of PostgreSQL (core/errors.ts): the API answers 503 with Retry-After, a trainer retries with backoff.
 */
export class ObjectStoreUnavailable extends InfraError {
  override name = "ObjectStoreUnavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(undefined, message, options);
  }
}

/** A dataset's bytes are not where its row says (deleted behind the service's back): the trial cannot train on it. */
export class DatasetContentMissing extends Error {
  override name = "DatasetContentMissing";
}
