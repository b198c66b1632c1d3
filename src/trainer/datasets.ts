/**
 * A trainer's copy of the uploaded datasets its trials train on. The bytes live in the store the dataset's row names
 * (src/storage/: PostgreSQL chunks, so any trainer that reaches the database can read them, or one object in the
 * S3-compatible store, whatever DATASET_STORE says now); a trainer writes each dataset once to DATASET_CACHE_DIR
 * (default: the OS temporary folder's `nas-datasets`), named by its content hash, and reads that file afterwards.
 * A file is written under a temporary name, checked against the hash and renamed, so that a trainer killed while
 * writing (or two writing at once) never leaves a partial file under the final name.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Config } from "../config.js";
import { TrialError } from "../core/errors.js";
import { DATASET_ID_PATTERN, type DatasetSource } from "../datasets/kinds.js";
import type { Db } from "../db/client.js";
import { datasetOfSearch } from "../db/datasets.js";
import { DatasetContentMissing, datasetStoresOf, type StoreSettings } from "../storage/index.js";

export function datasetCacheDir(config: Pick<Config, "DATASET_CACHE_DIR">): string {
  return config.DATASET_CACHE_DIR ?? path.join(os.tmpdir(), "nas-datasets");
}

/**
 * The uploaded dataset the evaluator options of search `searchId` name (`dataset: "ds_…"`), cached on this machine's disk,
 * with the split seed (`splitSeed`: the search's seed); undefined when the options name none. A dataset that no
 * longer exists (deleted), or whose bytes are gone from its store, is the trial's fault (TrialError); PostgreSQL or the
 * S3 store being unreachable is an infrastructure error as anywhere (the caller retries it).
 */
export async function datasetForSearch(db: Db, config: Pick<Config, "DATASET_CACHE_DIR"> & StoreSettings, searchId: string, options: Record<string, unknown>, splitSeed: number): Promise<DatasetSource | undefined> {
  const id = options.dataset;
  // Only an uploaded dataset's id: the benchmark evaluator's `dataset` option names its table ("cifar10").
  if (typeof id !== "string" || !DATASET_ID_PATTERN.test(id)) return undefined;
  const stored = await datasetOfSearch(db, searchId, id);
  if (!stored) throw new TrialError(`dataset '${id}' is not in the search's project (was it deleted?)`);
  const dir = datasetCacheDir(config);
  const file = path.join(dir, `${stored.sha256}.${stored.kind}`);
  if (!(existsSync(file) && statSync(file).size === stored.bytes)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.partial`;
    try {
      const hash = createHash("sha256");
      const out = createWriteStream(partial);
      let store;
      try {
        store = datasetStoresOf(db, config).of(stored.store);
        for await (const chunk of store.get(stored)) {
          hash.update(chunk);
          if (!out.write(chunk)) await once(out, "drain");
        }
      } catch (err) {
        out.destroy();
        if (err instanceof DatasetContentMissing) throw new TrialError(err.message);
        if (!store) throw new TrialError(`dataset '${id}': ${(err as Error).message}`); // no S3 settings here: retrying cannot help
        throw err;
      }
      out.end();
      await once(out, "finish");
      const sha256 = hash.digest("hex");
      if (sha256 !== stored.sha256) throw new Error(`dataset ${id}: the stored bytes hash to ${sha256}, not ${stored.sha256}`);
      renameSync(partial, file);
    } finally {
      rmSync(partial, { force: true });
    }
  }
  return { id, kind: stored.kind, sha256: stored.sha256, path: file, splitSeed };
}
