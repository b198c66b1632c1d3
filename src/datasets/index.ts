/**
 * Datasets that users upload (POST /v1/datasets): parsing, validation and statistics of each kind, the dataset's
 * identity, and the deterministic train / validation / test split. Light and tfjs-free (core and config only): the
 * API validates uploads with it, the trainers' tasks read the same bytes back with it.
 */
import { DatasetInvalid } from "./errors.js";
import type { DatasetKind } from "./kinds.js";
import { parseImages, type ParsedImages } from "./images.js";
import { parseText, type ParsedText } from "./text.js";
import { parseVectors, type ParsedVectors } from "./vectors.js";

export * from "./kinds.js";
export { DatasetInvalid } from "./errors.js";
export { MIN_ROWS, SPLIT_FRACTIONS, TEXT_BLOCKS, smallestHeldOutText, splitRows, splitText, type RowSplit, type TextSplit } from "./split.js";
export { MIN_TEXT_CHARACTERS } from "./text.js";
export { columnStats } from "./vectors.js";
export type { ParsedImages, ParsedText, ParsedVectors };

export type ParsedDataset = ParsedText | ParsedVectors | ParsedImages;

/** The dataset `bytes` are, as `kind`: its content and statistics; throws DatasetInvalid saying what and where. */
export function parseDataset(kind: DatasetKind, bytes: Uint8Array): ParsedDataset {
  switch (kind) {
    case "text":
      return parseText(bytes);
    case "vectors":
      return parseVectors(bytes);
    case "images":
      return parseImages(bytes);
    default:
      throw new DatasetInvalid(`unknown dataset kind '${String(kind)}'`);
  }
}
