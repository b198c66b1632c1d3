/**
 * How much memory a Transformer training step needs, estimated from the architecture alone before a trial starts,
 * and the memory plan a trainer picks from it: gradient accumulation (micro-batches) and activation recomputation
 * when the whole batch would not fit under the limit (TRAIN_MEMORY_LIMIT_MB).
 *
 * The estimate is of the peak of tfjs's live tensor bytes during a training step of one micro-batch of b sequences
 * (N = b·T tokens) above the resting weights: what the backward pass keeps (tfjs keeps every op's saved inputs or
 * outputs until the gradient is taken) plus its transient gradients. It is fitted, per token and layer, to peaks
 * measured with benchmarks/train-recompute.ts's sampler on the stock wasm kernels (NAS_NATIVE=off), varying one
 * dimension at a time from the baby GPT (4 × 128, 4 heads, context 64, batch 12):
 *   each layer     ~75·d (norms, residuals, projections and their transposed copies); softmax attention ~9·H·T
 *                  (scores, masks, weights and their gradients), linear attention ~66·d (chunk states and prefix
 *                  sums); the feed-forward ~16·h (GLU variants 18·h); a mixture of experts the same per routed
 *                  token (expertsPerToken) plus ~8·d for the rows gathered to and from each and 3·E for the router;
 *                  dropout ~11·d
 *   head           ~6·V (one-hot inputs and targets, logits, log-softmax)
 * With recomputation only each block's input and what accumulates beside it (~6·d per layer) is kept, plus 1.2 ×
 * the largest block (recomputed, with its transient gradients). Parameters, gradients and AdamW's two moments take
 * 4 copies of the weights (5 with micro-batches: the accumulated gradients). On the stock kernels it was within 2 %
 * of the measured peak for the variants it was fitted to (width of the feed-forward, context, heads, GLU, linear
 * attention, dropout, a top-2 mixture), and 0–11 % over with recomputation. The fused native kernels (when built)
 * keep less (the baby GPT: 136 MB measured, 237 estimated; 47 and 81 with recomputation), so there the estimate is
 * an upper bound: a plan it picks fits.
 *
 * Shapes: b sequences per micro-batch, T positions, d = d_model, h = ff_mult · d, H heads, V vocabulary, E experts.
 */
import { expertsPerToken, isGated, isMixtureOfExperts, parameterCount, type ModelDims, type TransformerArchitecture } from "./config.js";

const BYTES = 4; // float32
const MB = 1024 * 1024;

/** Float32 values one layer holds at the peak of the backward pass, for b sequences of T tokens. */
function layerActivations(arch: TransformerArchitecture, layer: TransformerArchitecture["layers"][number], b: number, T: number): number {
  const N = b * T;
  const d = arch.d_model;
  const h = arch.ff_mult * d;
  let perToken = 75 * d; // norms, residuals, q/k/v and output projections, their transposed copies
  perToken += layer.attention === "linear" ? 66 * d : 9 * arch.n_heads * T; // attention scores and weights per query
  const ffn = (isGated(layer.activation) ? 18 : 16) * h;
  perToken += isMixtureOfExperts(arch) ? expertsPerToken(arch) * (ffn + 8 * d) + 3 * arch.experts! : ffn;
  if (arch.dropout > 0) perToken += 11 * d; // masks and scaled copies of the residual branches
  return N * perToken;
}

export interface MemoryEstimate {
  /** Activations kept for the backward pass of one micro-batch, in MiB. */
  activationsMb: number;
  /** Parameters, gradients and optimizer state, in MiB. */
  parametersMb: number;
  totalMb: number;
}

/**
 * The memory of one training step with `batchSize` sequences split into `microBatches`, with or without
 * recomputation (see the file comment for what is counted).
 */
export function estimateTrainingMemory(arch: TransformerArchitecture, dims: ModelDims, plan: { batchSize: number; microBatches: number; recompute: boolean }): MemoryEstimate {
  const b = Math.ceil(plan.batchSize / plan.microBatches);
  const T = dims.contextLength;
  const N = b * T;
  const d = arch.d_model;
  const layers = arch.layers.map((l) => layerActivations(arch, l, b, T));
  const largest = Math.max(0, ...layers);
  const blocks = plan.recompute ? arch.layers.length * 6 * N * d + 1.2 * largest : layers.reduce((s, n) => s + n, 0);
  const values = blocks + 6 * N * dims.vocabSize;
  const activationsMb = (values * BYTES) / MB;
  const parametersMb = ((plan.microBatches > 1 ? 5 : 4) * parameterCount(arch, dims) * BYTES) / MB;
  return { activationsMb, parametersMb, totalMb: activationsMb + parametersMb };
}

/** How a trial trains: what its config asked for, or what the trainer chose to fit the memory limit. */
export interface MemoryPlan {
  microBatches: number;
  recompute: boolean;
  estimatedMb: number;
  /** True when the trainer changed the config's micro-batches or recomputation to fit the limit. */
  adjusted: boolean;
}

/** Nothing fits under the limit, not even micro-batches of one sequence with recomputation. */
export class DoesNotFitInMemory extends Error {
  override name = "DoesNotFitInMemory";
}

/**
 * The plan for a trial: the config's own (`microBatches`, `recompute`) when its estimate fits under `limitMb` (0: no
 * limit); otherwise more micro-batches (divisors of batchSize, fewest first: the same update, no extra compute),
 * then recomputation with the fewest micro-batches that fit (about a third more compute). Throws
 * DoesNotFitInMemory, naming the smallest estimate, when nothing fits.
 */
export function planTrainingMemory(arch: TransformerArchitecture, dims: ModelDims, opts: { batchSize: number; microBatches: number; recompute: boolean; limitMb: number }): MemoryPlan {
  const estimate = (microBatches: number, recompute: boolean) => estimateTrainingMemory(arch, dims, { batchSize: opts.batchSize, microBatches, recompute }).totalMb;
  const asked = estimate(opts.microBatches, opts.recompute);
  if (opts.limitMb <= 0 || asked <= opts.limitMb) return { microBatches: opts.microBatches, recompute: opts.recompute, estimatedMb: asked, adjusted: false };
  const divisors = Array.from({ length: opts.batchSize }, (_, i) => i + 1).filter((m) => opts.batchSize % m === 0 && m >= opts.microBatches);
  for (const recompute of opts.recompute ? [true] : [false, true]) {
    for (const m of divisors) {
      const mb = estimate(m, recompute);
      if (mb <= opts.limitMb) return { microBatches: m, recompute, estimatedMb: mb, adjusted: true };
    }
  }
  const least = estimate(opts.batchSize, true);
  throw new DoesNotFitInMemory(
    `the trial needs an estimated ${asked.toFixed(0)} MB (at least ${least.toFixed(0)} MB with micro-batches of one sequence and recomputation), over TRAIN_MEMORY_LIMIT_MB = ${opts.limitMb}: lower batchSize or contextLength, or search smaller models`,
  );
}
