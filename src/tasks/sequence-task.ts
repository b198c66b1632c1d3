/**
 * A token-sequence task for language-model-style training: seeded training batches, a fixed evaluation set, and
 * a vocabulary to encode and decode text. Implemented by the character LM (charlm.ts) and the synthetic
 * associative-recall task (recall.ts).
 */
import type { Rng } from "../core/rng.js";

/** `batch` sequences of `length` tokens, row-major; targets are the next tokens. */
export interface TokenBatch {
  batch: number;
  length: number;
  inputs: Int32Array;
  targets: Int32Array;
  /** Positions that count in the loss and metrics (1) or not (0); all count when absent. */
  weights?: Float32Array;
}

export interface SequenceTask {
  /** Task identity, e.g. "charlm-moby-dick" (the leaderboard groups trials by it). */
  readonly id: string;
  readonly vocabSize: number;
  /** A training batch drawn with `rng`. */
  trainBatch(rng: Rng, batch: number, length: number): TokenBatch;
  /** The fixed evaluation set: the same tokens for every trial with the same length and size, split in batches. */
  evalBatches(length: number, sequences: number, batchSize: number): TokenBatch[];
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
  /** A prompt to start generated samples with. */
  samplePrompt(): number[];
}
