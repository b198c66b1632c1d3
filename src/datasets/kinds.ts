/**
 * What a dataset is: its kind, its identity and its statistics, as the API shows them and the trainers read them.
 * Light: zod and node:crypto only (the API, the catalogue's callers and the trainers share it).
 *
 * Identity: a dataset's id is `ds_` + the first 20 hex digits of sha256(kind + "\n" + bytes), so the same bytes
 * uploaded twice as the same kind are the same dataset (docs: contracts "Datasets"); `sha256` is the hash of the
 * bytes alone (what `sha256sum` prints for the file).
 */
import { createHash, type Hash } from "node:crypto";
import { z } from "zod";

export const DATASET_KINDS = ["text", "vectors", "images"] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];
export const datasetKindSchema = z.enum(DATASET_KINDS);

/** `ds_` + 20 lower-case hex digits. */
export const DATASET_ID_PATTERN = /^ds_[0-9a-f]{20}$/;
export const datasetIdSchema = z.string().regex(DATASET_ID_PATTERN, "must be a dataset id (ds_ and 20 hex digits)");

/** Where a dataset's bytes are kept: PostgreSQL chunks, or an S3-compatible object store (src/storage/). */
export const DATASET_STORES = ["postgres", "s3"] as const;
export type DatasetStore = (typeof DATASET_STORES)[number];

/** The two hashes of an upload, fed chunk by chunk as the body streams in. */
export class DatasetHasher {
  private readonly identity: Hash;
  private readonly content = createHash("sha256");
  bytes = 0;

  constructor(readonly kind: DatasetKind) {
    this.identity = createHash("sha256").update(`${kind}\n`);
  }

  update(chunk: Uint8Array): void {
    this.identity.update(chunk);
    this.content.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): { id: string; sha256: string } {
    return { id: `ds_${this.identity.digest("hex").slice(0, 20)}`, sha256: this.content.digest("hex") };
  }
}

/** The id of `bytes` uploaded as `kind`. */
export function datasetIdOf(kind: DatasetKind, bytes: Uint8Array): string {
  const h = new DatasetHasher(kind);
  h.update(bytes);
  return h.digest().id;
}

export const textStatsSchema = z.object({
  format: z.literal("utf-8"),
  characters: z.number().int().describe("Unicode code points"),
  vocabularySize: z.number().int().describe("distinct code points"),
});
export const vectorStatsSchema = z.object({
  format: z.enum(["csv", "npy"]),
  rows: z.number().int(),
  dimension: z.number().int(),
  columns: z.array(z.string()).nullable().describe("the CSV header's names, when it has one"),
  mean: z.array(z.number()).describe("per column"),
  std: z.array(z.number()).describe("per column (population standard deviation)"),
});
export const imageStatsSchema = z.object({
  format: z.enum(["idx", "npy"]),
  count: z.number().int(),
  shape: z.array(z.number().int()).describe("[height, width] of one image (a 2-D file's rows are 1 × width images)"),
  meanPixel: z.number(),
});
export const datasetStatsSchema = z.union([textStatsSchema, vectorStatsSchema, imageStatsSchema]);
export type TextStats = z.infer<typeof textStatsSchema>;
export type VectorStats = z.infer<typeof vectorStatsSchema>;
export type ImageStats = z.infer<typeof imageStatsSchema>;
export type DatasetStats = TextStats | VectorStats | ImageStats;

/**
 * A dataset as a trainer hands it to an evaluator (EvaluationRequest.dataset): its identity, the file the trainer
 * cached its bytes in (src/trainer/datasets.ts), and the seed of its train / validation / test split (the search's
 * seed: the same split for every trial of the search and for the model retrained from it).
 */
export interface DatasetSource {
  id: string;
  kind: DatasetKind;
  sha256: string;
  path: string;
  splitSeed: number;
}
