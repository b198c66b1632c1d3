/**
 * Synthetic associative recall (multi-query form, as in Arora et al. 2023 "Zoology"; cf. Ba et al. 2016): a
 * sequence shows P key–value pairs, then queries keys seen before, each followed by its value:
 *     k₁ v₁ k₂ v₂ … k_P v_P | q₁ a₁ q₂ a₂ …        (a_i = the value paired with q_i)
 * Only the answers a_i count in the loss and the accuracy: predicting one needs attention back to the pair, so the
 * task tells attention kinds apart quickly (a local window shorter than the distance cannot solve it).
 * Tokens: keys 0..K−1, values K..K+V−1. Everything is generated from a seed; the evaluation set from a fixed one.
 */
import { Rng } from "../core/rng.js";
import type { SequenceTask, TokenBatch } from "./sequence-task.js";

import { RECALL_TASK_ID } from "../catalogue/tasks.js";
const EVAL_SEED = 0x5eed;
const KEY_CHARS = "abcdefghijklmnopqrstuvwxyz";
const VALUE_CHARS = "0123456789ABCDEFGHIJKLMNOP";

export interface RecallOptions {
  /** Distinct keys (≤ 26), default 16. */
  keys?: number;
  /** Distinct values (≤ 26), default 16. */
  values?: number;
  /** Key–value pairs shown per sequence, default 8 (≤ keys). */
  pairs?: number;
}

export class RecallTask implements SequenceTask {
  readonly id = RECALL_TASK_ID;
  readonly vocabSize: number;
  readonly keys: number;
  readonly values: number;
  readonly pairs: number;

  constructor(opts: RecallOptions = {}) {
    this.keys = opts.keys ?? 16;
    this.values = opts.values ?? 16;
    this.pairs = opts.pairs ?? 8;
    if (this.keys > 26 || this.values > 26) throw new RangeError("at most 26 keys and 26 values");
    if (this.pairs > this.keys) throw new RangeError(`pairs (${this.pairs}) cannot exceed keys (${this.keys})`);
    this.vocabSize = this.keys + this.values;
  }

  /** One sequence of length+1 tokens and the answer positions (indices i where token i+1 is an answer). */
  private sequence(rng: Rng, length: number): { tokens: Int32Array; answers: number[] } {
    if (2 * this.pairs + 2 > length + 1) throw new RangeError(`context length ${length} is too short for ${this.pairs} pairs and a query`);
    const tokens = new Int32Array(length + 1);
    const keys = rng.shuffle(Array.from({ length: this.keys }, (_, i) => i)).slice(0, this.pairs);
    const values = keys.map(() => this.keys + rng.int(this.values));
    keys.forEach((k, p) => {
      tokens[2 * p] = k;
      tokens[2 * p + 1] = values[p]!;
    });
    const answers: number[] = [];
    for (let i = 2 * this.pairs; i + 1 <= length; i += 2) {
      const p = rng.int(this.pairs);
      tokens[i] = keys[p]!;
      tokens[i + 1] = values[p]!;
      answers.push(i);
    }
    // An odd leftover position holds one more query key with no answer in range.
    if ((length + 1 - 2 * this.pairs) % 2 === 1) tokens[length] = keys[rng.int(this.pairs)]!;
    return { tokens, answers };
  }

  private batchOf(rng: Rng, batch: number, length: number): TokenBatch {
    const inputs = new Int32Array(batch * length);
    const targets = new Int32Array(batch * length);
    const weights = new Float32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const { tokens, answers } = this.sequence(rng, length);
      inputs.set(tokens.subarray(0, length), b * length);
      targets.set(tokens.subarray(1, length + 1), b * length);
      for (const i of answers) weights[b * length + i] = 1;
    }
    return { batch, length, inputs, targets, weights };
  }

  trainBatch(rng: Rng, batch: number, length: number): TokenBatch {
    return this.batchOf(rng, batch, length);
  }

  evalBatches(length: number, sequences: number, batchSize: number): TokenBatch[] {
    const rng = new Rng(EVAL_SEED);
    const out: TokenBatch[] = [];
    for (let done = 0; done < sequences; done += batchSize) out.push(this.batchOf(rng, Math.min(batchSize, sequences - done), length));
    return out;
  }

  encode(text: string): number[] {
    return Array.from(text, (c) => {
      const k = KEY_CHARS.indexOf(c);
      if (k >= 0 && k < this.keys) return k;
      const v = VALUE_CHARS.indexOf(c);
      if (v >= 0 && v < this.values) return this.keys + v;
      throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
    });
  }

  decode(tokens: readonly number[]): string {
    return tokens.map((t) => (t < this.keys ? KEY_CHARS[t] : VALUE_CHARS[t - this.keys]) ?? "?").join("");
  }

  /** The pairs of the first evaluation sequence: the sample shows what the model does after them. */
  samplePrompt(): number[] {
    const first = this.evalBatches(2 * this.pairs + 2, 1, 1)[0]!;
    return Array.from(first.inputs.subarray(0, 2 * this.pairs));
  }
}
