/**
 * Text datasets: a UTF-8 corpus for character-level language modelling. The file must be valid UTF-8 (a byte
 * order mark is dropped); the first invalid sequence is named by its byte offset.
 */
import { DatasetInvalid } from "./errors.js";
import type { TextStats } from "./kinds.js";

/** Fewest characters a text dataset may have: each of its 20 split blocks (./split.ts) holds at least 10. */
export const MIN_TEXT_CHARACTERS = 200;

/**
 * Byte offset of the first byte that does not start (or continue) a valid UTF-8 sequence, or -1. Strict as
 * TextDecoder's fatal mode: no overlong forms, no surrogates (U+D800–DFFF), nothing above U+10FFFF.
 */
export function invalidUtf8Offset(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** UTF-8 text, decoded with a fatal decoder; throws DatasetInvalid naming the byte offset of the first bad sequence. */
export function decodeUtf8(bytes: Uint8Array, what = "the file"): string {
  const offset = invalidUtf8Offset(bytes);
  if (offset >= 0) {
    const shown = Array.from(bytes.subarray(offset, offset + 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
    throw new DatasetInvalid(`${what} is not UTF-8: invalid byte sequence at byte offset ${offset} (bytes ${shown})`);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

export interface ParsedText {
  kind: "text";
  text: string;
  stats: TextStats;
}

export function parseText(bytes: Uint8Array): ParsedText {
  if (bytes.length === 0) throw new DatasetInvalid("the file is empty");
  const text = decodeUtf8(bytes);
  const distinct = new Set<string>();
  let characters = 0;
  for (const c of text) {
    distinct.add(c);
    characters++;
  }
  if (characters < MIN_TEXT_CHARACTERS) throw new DatasetInvalid(`too few characters to split into training, validation and test text: ${characters}, at least ${MIN_TEXT_CHARACTERS}`);
  return { kind: "text", text, stats: { format: "utf-8", characters, vocabularySize: distinct.size } };
}
