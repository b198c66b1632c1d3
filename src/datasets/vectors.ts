/** Vectors datasets: real-valued rows (CSV, or `.npy` float32/float64 of shape (n,) or (n, d)), any d ≥ 1. */
import { parseCsv } from "./csv.js";
import { DatasetInvalid } from "./errors.js";
import type { VectorStats } from "./kinds.js";
import { isNpy, parseNpy } from "./npy.js";
import { MIN_ROWS } from "./split.js";

export interface ParsedVectors {
  kind: "vectors";
  rows: number;
  dim: number;
  /** Row-major [rows, dim], in the data's own units. */
  values: Float64Array;
  stats: VectorStats;
}

/** Mean and population standard deviation of every column of row-major `values`. */
export function columnStats(values: Float64Array, rows: number, dim: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(dim).fill(0);
  const m2 = new Array<number>(dim).fill(0);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d]! += values[r * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d] = mean[d]! / rows;
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) m2[d]! += (values[r * dim + d]! - mean[d]!) ** 2;
  return { mean, std: m2.map((s) => Math.sqrt(s / rows)) };
}

export function parseVectors(bytes: Uint8Array): ParsedVectors {
  if (bytes.length === 0) throw new DatasetInvalid("the file is empty");
  let rows: number;
  let dim: number;
  let values: Float64Array;
  let columns: string[] | null = null;
  let format: "csv" | "npy";
  if (isNpy(bytes)) {
    const a = parseNpy(bytes);
    if (a.dtype === "uint8") throw new DatasetInvalid(".npy header: dtype uint8 is for images; vectors are float32 ('<f4') or float64 ('<f8')");
    if (a.shape.length < 1 || a.shape.length > 2) throw new DatasetInvalid(`.npy header: shape (${a.shape.join(", ")}) has ${a.shape.length} dimensions; vectors are (rows,) or (rows, d)`);
    rows = a.shape[0]!;
    dim = a.shape[1] ?? 1;
    if (dim < 1) throw new DatasetInvalid(`.npy header: shape (${a.shape.join(", ")}) has rows of dimension 0`);
    values = a.data as Float64Array;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw new DatasetInvalid(`row ${Math.floor(i / dim) + 1}, column ${(i % dim) + 1}: ${values[i]} is not a finite number (NaN and infinity are refused)`);
    }
    format = "npy";
  } else {
    ({ rows, dim, values, columns } = parseCsv(bytes));
    format = "csv";
  }
  if (rows < MIN_ROWS) throw new DatasetInvalid(`too few rows to split into training, validation and test sets: ${rows}, at least ${MIN_ROWS}`);
  const { mean, std } = columnStats(values, rows, dim);
  return { kind: "vectors", rows, dim, values, stats: { format, rows, dimension: dim, columns, mean, std } };
}
