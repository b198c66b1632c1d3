/**
 * CSV files of real-valued rows: one row per line, values separated by commas (spaces around them and a trailing
 * `\r` are ignored, a value may be double-quoted), blank lines skipped. The first line may be a header (it is one
 * when one of its fields is not a number); every other line must have as many values as the first row, each a
 * finite number. Errors name the line (1-based, counted in the file) and the column (1-based).
 */
import { DatasetInvalid } from "./errors.js";
import { decodeUtf8 } from "./text.js";

export interface CsvRows {
  rows: number;
  dim: number;
  /** Row-major [rows, dim]. */
  values: Float64Array;
  columns: string[] | null;
}

const unquote = (s: string) => {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"').trim() : t;
};

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

export function parseCsv(bytes: Uint8Array): CsvRows {
  const text = decodeUtf8(bytes);
  const lines = text.split("\n");
  const values: number[] = [];
  let dim = -1;
  let firstRowLine = 0;
  let columns: string[] | null = null;
  let rows = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const fields = line.split(",").map(unquote);
    const lineNo = i + 1;
    if (dim < 0 && columns === null && rows === 0 && fields.some((f) => !NUMBER.test(f) && !NON_FINITE.test(f))) {
      columns = fields; // a header: names, not numbers
      dim = fields.length;
      firstRowLine = lineNo;
      continue;
    }
    if (dim < 0) {
      dim = fields.length;
      firstRowLine = lineNo;
    } else if (fields.length !== dim) {
      const first = columns ? `the header (line ${firstRowLine})` : `the first row (line ${firstRowLine})`;
      throw new DatasetInvalid(`ragged rows: line ${lineNo} has ${fields.length} values, ${first} has ${dim}`);
    }
    for (let c = 0; c < fields.length; c++) {
      const f = fields[c]!;
      if (NON_FINITE.test(f)) throw new DatasetInvalid(`line ${lineNo}, column ${c + 1}: ${f} is not a finite number (NaN and infinity are refused)`);
      if (!NUMBER.test(f)) throw new DatasetInvalid(`line ${lineNo}, column ${c + 1}: ${JSON.stringify(f.slice(0, 40))} is not a number`);
      const v = Number(f);
      if (!Number.isFinite(v)) throw new DatasetInvalid(`line ${lineNo}, column ${c + 1}: ${f} overflows to infinity`);
      values.push(v);
    }
    rows++;
  }
  if (rows === 0) throw new DatasetInvalid(columns ? "the file has a header line and no rows" : "the file is empty (no rows)");
  return { rows, dim, values: Float64Array.from(values), columns };
}
