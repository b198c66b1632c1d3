/**
 * The train / validation / test split of a dataset, deterministic from a seed (a search's seed: every trial of
 * the search, and the model retrained from it, sees the same split; another seed, another split).
 *
 *   - vectors and images: the rows are shuffled with the seed and cut 80 % / 10 % / 10 % (at least one row in
 *     validation and test: MIN_ROWS rows at least);
 *   - text: the corpus is cut into TEXT_BLOCKS contiguous blocks of equal length; the seed shuffles the blocks
 *     and deals 16 to training, 2 to validation, 2 to test, each split keeping its blocks in their order in the
 *     file (so that language is split in long runs, not mixed character by character).
 */
import { Rng } from "../core/rng.js";
import { DatasetInvalid } from "./errors.js";

export const SPLIT_FRACTIONS = { train: 0.8, val: 0.1, test: 0.1 } as const;
/** Fewest rows a vectors or images dataset may have. */
export const MIN_ROWS = 10;
export const TEXT_BLOCKS = 20;

/** A seed for the split, so that the trainers' other random streams do not share it. */
const SPLIT_SALT = 0x5917_c0de;

export interface RowSplit {
  train: number[];
  val: number[];
  test: number[];
}

export function splitRows(n: number, seed: number): RowSplit {
  if (n < MIN_ROWS) throw new DatasetInvalid(`too few rows to split into training, validation and test sets: ${n}, at least ${MIN_ROWS}`);
  const order = new Rng((seed ^ SPLIT_SALT) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i));
  const val = Math.max(1, Math.round(n * SPLIT_FRACTIONS.val));
  const test = Math.max(1, Math.round(n * SPLIT_FRACTIONS.test));
  return { test: order.slice(0, test), val: order.slice(test, test + val), train: order.slice(test + val) };
}

/** Code-point ranges [start, end) of each split of a text of `length` code points. */
export interface TextSplit {
  train: Array<[number, number]>;
  val: Array<[number, number]>;
  test: Array<[number, number]>;
}

export function splitText(length: number, seed: number): TextSplit {
  if (length < TEXT_BLOCKS) throw new DatasetInvalid(`too few characters to split: ${length}, at least ${TEXT_BLOCKS}`);
  const blocks = Array.from({ length: TEXT_BLOCKS }, (_, i): [number, number] => [Math.floor((i * length) / TEXT_BLOCKS), Math.floor(((i + 1) * length) / TEXT_BLOCKS)]);
  const order = new Rng((seed ^ SPLIT_SALT) >>> 0).shuffle(Array.from({ length: TEXT_BLOCKS }, (_, i) => i));
  const take = (ids: number[]) => ids.sort((a, b) => a - b).map((i) => blocks[i]!);
  const held = Math.round(TEXT_BLOCKS * SPLIT_FRACTIONS.val);
  return { test: take(order.slice(0, held)), val: take(order.slice(held, 2 * held)), train: take(order.slice(2 * held)) };
}

/** Characters of the smallest held-out split (validation or test) of a text of `length` code points. */
export function smallestHeldOutText(length: number): number {
  const held = Math.round(TEXT_BLOCKS * SPLIT_FRACTIONS.val);
  return held * Math.floor(length / TEXT_BLOCKS);
}
