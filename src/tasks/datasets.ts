/**
 * Tasks made from uploaded datasets (src/datasets/), as the trainers read them: the bytes a trainer cached
 * (`DatasetSource.path`), parsed with the same code that validated the upload, split with the search's seed
 * (src/datasets/split.ts: 80 / 10 / 10). Each task carries its dataset's identity (`charlm:<id>`, `vectors:<id>`,
 * `images:<id>`) and content hash.
 *
 *   - text → a character LM (CharLMTask over the split: vocabulary from the training split, `<unk>` for the rest);
 *   - vectors → rows for a flow, standardised per column with the training split's mean and std (a column of
 *     constant value gets std 1); the trainer adds Σ log std to the NLL so that it is in the data's own units;
 *   - images → 8-bit pixels for the flow's image path (dequantisation and the logit transform, as for MNIST).
 *
 * A trainer parses a dataset once per process (the last few are kept).
 */
import { readFileSync } from "node:fs";
import { datasetTaskId } from "../catalogue/tasks.js";
import { columnStats, parseDataset, splitRows, splitText, type DatasetSource, type ParsedImages, type ParsedText, type ParsedVectors } from "../datasets/index.js";
import { CharLMTask } from "./charlm.js";

const KEPT = 4;
const parsed = new Map<string, unknown>();

function once<T>(key: string, make: () => T): T {
  if (parsed.has(key)) return parsed.get(key) as T;
  const value = make();
  parsed.set(key, value);
  while (parsed.size > KEPT) parsed.delete(parsed.keys().next().value!);
  return value;
}

function read<T extends ParsedText | ParsedVectors | ParsedImages>(source: DatasetSource, kind: T["kind"]): T {
  if (source.kind !== kind) throw new RangeError(`dataset ${source.id} is ${source.kind} data, not ${kind}`);
  return parseDataset(kind, readFileSync(source.path)) as T;
}

/** The character LM of a text dataset, split with `source.splitSeed`. */
export function textDatasetTask(source: DatasetSource): CharLMTask {
  return once(`text:${source.sha256}:${source.splitSeed}`, () => {
    const codepoints = Array.from(read<ParsedText>(source, "text").text);
    const split = splitText(codepoints.length, source.splitSeed);
    const join = (ranges: Array<[number, number]>) => ranges.map(([a, b]) => codepoints.slice(a, b).join("")).join("");
    return new CharLMTask({ id: datasetTaskId("text", source.id), train: join(split.train), val: join(split.val), test: join(split.test), datasetSha256: source.sha256 });
  });
}

export interface VectorSplits {
  id: string;
  datasetSha256: string;
  dim: number;
  /** Standardised rows (row-major [n, dim]) of each split. */
  train: Float32Array;
  val: Float32Array;
  test: Float32Array;
  /** x ↦ (x − mean) / std per column, from the training split. */
  mean: number[];
  std: number[];
  /** Σ_d log std_d: −log p(x) = −log p_flow(z) + logStdSum, nats per row in the data's own units. */
  logStdSum: number;
}

function rowsOf(values: ArrayLike<number>, dim: number, rows: readonly number[], map: (v: number, d: number) => number = (v) => v): Float64Array {
  const out = new Float64Array(rows.length * dim);
  rows.forEach((r, i) => {
    for (let d = 0; d < dim; d++) out[i * dim + d] = map(values[r * dim + d]!, d);
  });
  return out;
}

/** The rows of a vectors dataset, split with `source.splitSeed` and standardised with the training split's statistics. */
export function vectorDatasetSplits(source: DatasetSource): VectorSplits {
  return once(`vectors:${source.sha256}:${source.splitSeed}`, () => {
    const data = read<ParsedVectors>(source, "vectors");
    const { dim } = data;
    const split = splitRows(data.rows, source.splitSeed);
    const raw = rowsOf(data.values, dim, split.train);
    const { mean, std: rawStd } = columnStats(raw, split.train.length, dim);
    const std = rawStd.map((s) => (s > 0 && Number.isFinite(s) ? s : 1));
    const standardise = (rows: number[]) => Float32Array.from(rowsOf(data.values, dim, rows, (v, d) => (v - mean[d]!) / std[d]!));
    return {
      id: datasetTaskId("vectors", source.id),
      datasetSha256: source.sha256,
      dim,
      train: standardise(split.train),
      val: standardise(split.val),
      test: standardise(split.test),
      mean,
      std,
      logStdSum: std.reduce((s, v) => s + Math.log(v), 0),
    };
  });
}

export interface ImageSplits {
  id: string;
  datasetSha256: string;
  height: number;
  width: number;
  dim: number;
  /** 8-bit pixels, row-major [n, dim], of each split. */
  train: Uint8Array;
  val: Uint8Array;
  test: Uint8Array;
}

/** The images of an images dataset, split with `source.splitSeed`. */
export function imageDatasetSplits(source: DatasetSource): ImageSplits {
  return once(`images:${source.sha256}:${source.splitSeed}`, () => {
    const data = read<ParsedImages>(source, "images");
    const dim = data.height * data.width;
    const split = splitRows(data.count, source.splitSeed);
    const take = (rows: number[]) => Uint8Array.from(rowsOf(data.pixels, dim, rows));
    return { id: datasetTaskId("images", source.id), datasetSha256: source.sha256, height: data.height, width: data.width, dim, train: take(split.train), val: take(split.val), test: take(split.test) };
  });
}
