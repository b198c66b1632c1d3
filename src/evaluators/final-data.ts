/**
 * The data of a final training (`EvaluationRequest.final`: a search's winner retrained into a model): the training
 * and validation data together to train on, and the test data to score on.
 *
 * Token tasks: a task that holds its splits as token arrays (`train`, `val`, and `test` when it has one: the
 * character LMs) trains on train + val and is scored on windows evenly spaced over `test`. A task without a test
 * split (Moby-Dick's contiguous 90/10 split) keeps the last half of its validation split as the test split and
 * trains on the rest; trials were selected on the whole validation split, so that score is slightly optimistic
 * (README). A synthetic task (assoc-recall) draws its training sequences as trials do and is scored on sequences of
 * another seed.
 */
import { Rng } from "../core/rng.js";
import type { SequenceTask, TokenBatch } from "../tasks/sequence-task.js";

export interface FinalSequenceData {
  trainBatch(rng: Rng, batch: number, length: number): TokenBatch;
  testBatches(length: number, sequences: number, batchSize: number): TokenBatch[];
  /** What the test split is, for the model's metrics. */
  testSplit: "test" | "validation-half" | "fresh-sequences";
}

/** Seed of a synthetic task's test sequences (its trials' evaluation set has its own). */
const TEST_SEED = 0x7e57;

interface SplitTokens {
  train: Int32Array;
  val: Int32Array;
  test?: Int32Array;
}

const hasSplits = (task: unknown): task is SplitTokens => task !== null && typeof task === "object" && (task as SplitTokens).train instanceof Int32Array && (task as SplitTokens).val instanceof Int32Array;

function windows(tokens: Int32Array, offsets: readonly number[], length: number): TokenBatch {
  const inputs = new Int32Array(offsets.length * length);
  const targets = new Int32Array(offsets.length * length);
  offsets.forEach((start, b) => {
    inputs.set(tokens.subarray(start, start + length), b * length);
    targets.set(tokens.subarray(start + 1, start + length + 1), b * length);
  });
  return { batch: offsets.length, length, inputs, targets };
}

export function finalSequenceData(task: SequenceTask): FinalSequenceData {
  if (!hasSplits(task)) {
    // Synthetic: every sequence is new; the test set is drawn from another seed than the evaluation set.
    return {
      trainBatch: (rng, batch, length) => task.trainBatch(rng, batch, length),
      testBatches: (length, sequences, batchSize) => {
        const rng = new Rng(TEST_SEED);
        const out: TokenBatch[] = [];
        for (let done = 0; done < sequences; done += batchSize) out.push(task.trainBatch(rng, Math.min(batchSize, sequences - done), length));
        return out;
      },
      testSplit: "fresh-sequences",
    };
  }
  let train: Int32Array;
  let test: Int32Array;
  if (task.test && task.test.length > 0) {
    train = new Int32Array(task.train.length + task.val.length);
    train.set(task.train);
    train.set(task.val, task.train.length);
    test = task.test;
  } else {
    const half = Math.floor(task.val.length / 2);
    train = new Int32Array(task.train.length + half);
    train.set(task.train);
    train.set(task.val.subarray(0, half), task.train.length);
    test = task.val.subarray(half);
  }
  return {
    trainBatch(rng, batch, length) {
      return windows(train, Array.from({ length: batch }, () => rng.int(train.length - length - 1)), length);
    },
    testBatches(length, sequences, batchSize) {
      const span = test.length - length - 1;
      if (span <= 0) throw new RangeError(`context length ${length} exceeds the test split (${test.length} tokens)`);
      const offsets = Array.from({ length: sequences }, (_, i) => Math.floor((i * span) / Math.max(1, sequences - 1)));
      const out: TokenBatch[] = [];
      for (let first = 0; first < sequences; first += batchSize) out.push(windows(test, offsets.slice(first, first + batchSize), length));
      return out;
    },
    testSplit: task.test && task.test.length > 0 ? "test" : "validation-half",
  };
}

/** Rows of the training and validation splits together (flat, row-major), for a final flow training. */
export function concatRows<T extends Float32Array | Uint8Array>(a: T, b: T): T {
  const out = new (a.constructor as new (n: number) => T)(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
