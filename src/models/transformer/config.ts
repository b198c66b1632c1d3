/**
 * The architecture JSON of the `transformer` family (search-spaces/transformer-lm.json) as a typed object, and its
 * analytic size and cost. It is the only input of the model builder (model.ts), the parameter count and the FLOP
 * count.
 *
 * This file imports nothing but zod: the API's catalogue validates and prices architectures with it without
 * loading tfjs. Keep it so (no import of a module that loads @tensorflow/*, directly or not).
 */
import { z } from "zod";

export const ATTENTION_KINDS = ["full", "local", "strided", "linear"] as const;
export const POSITION_KINDS = ["sinusoidal", "learned", "alibi", "rotary"] as const;
export const NORM_KINDS = ["pre_ln", "post_ln", "rmsnorm"] as const;
export const ACTIVATIONS = ["relu", "gelu", "swish", "squared_relu", "geglu", "swiglu"] as const;
/** Every layer's feed-forward block: one MLP (`dense`), or a mixture of experts with a learned router (moe.ts). */
export const FEED_FORWARD_KINDS = ["dense", "moe-token-choice", "moe-expert-choice"] as const;

export type AttentionKind = (typeof ATTENTION_KINDS)[number];
export type PositionKind = (typeof POSITION_KINDS)[number];
export type NormKind = (typeof NORM_KINDS)[number];
export type Activation = (typeof ACTIVATIONS)[number];
export type FeedForwardKind = (typeof FEED_FORWARD_KINDS)[number];

export const layerSchema = z.object({
  /** full softmax, local sliding window, strided sparse (Child et al. 2019), linear (Katharopoulos et al. 2020). */
  attention: z.enum(ATTENTION_KINDS),
  /** Keys a query sees with `local` attention: itself and the window − 1 before it. */
  window: z.number().int().min(1).optional(),
  /** Period of the `strided` pattern: the stride − 1 previous positions plus every stride-th one before. */
  stride: z.number().int().min(1).optional(),
  activation: z.enum(ACTIVATIONS),
});

export const transformerArchitectureSchema = z
  .object({
    n_layers: z.number().int().min(1),
    d_model: z.number().int().min(1),
    n_heads: z.number().int().min(1),
    /** Hidden width of the feed-forward block is ff_mult · d_model (for GLU variants: of each of its two branches). */
    ff_mult: z.number().int().min(1),
    positions: z.enum(POSITION_KINDS),
    norm: z.enum(NORM_KINDS),
    dropout: z.number().min(0).max(0.9),
    /**
     * Feed-forward block of every layer (default dense). A mixture of experts (moe.ts) has `experts` copies of the
     * dense block (same width and activation) and a router; `moe-token-choice` sends each token to its `top_k` best
     * experts (Switch k = 1, GShard k = 2), `moe-expert-choice` lets each expert pick its tokens (Zhou et al. 2022).
     */
    feed_forward: z.enum(FEED_FORWARD_KINDS).optional(),
    experts: z.number().int().min(2).max(64).optional(),
    /** Token choice: experts per token. */
    top_k: z.number().int().min(1).max(8).optional(),
    /** Slots per expert relative to an even share of the tokens (token choice: of the token–expert pairs). */
    capacity_factor: z.number().positive().max(64).optional(),
    layers: z.array(layerSchema),
  })
  .refine((a) => a.d_model % a.n_heads === 0, { message: "d_model must be divisible by n_heads" })
  .refine((a) => a.layers.length === a.n_layers, { message: "layers must have n_layers items" })
  .refine((a) => a.positions !== "rotary" || (a.d_model / a.n_heads) % 2 === 0, { message: "rotary positions need an even head size" })
  .refine((a) => a.layers.every((l) => (l.attention !== "local" || l.window) && (l.attention !== "strided" || l.stride)), {
    message: "local attention needs a window, strided attention a stride",
  })
  .refine((a) => !isMixtureOfExperts(a) || (a.experts !== undefined && a.capacity_factor !== undefined), { message: "a mixture of experts needs experts and capacity_factor" })
  .refine((a) => a.feed_forward !== "moe-token-choice" || (a.top_k !== undefined && a.top_k <= a.experts!), { message: "token-choice routing needs top_k ≤ experts" })
  // Meaningless combinations are refused rather than ignored (the space's `when` conditions never propose them).
  .refine((a) => isMixtureOfExperts(a) || (a.experts === undefined && a.top_k === undefined && a.capacity_factor === undefined), {
    message: "experts, top_k and capacity_factor apply to a mixture-of-experts feed_forward only",
  })
  .refine((a) => a.feed_forward !== "moe-expert-choice" || a.top_k === undefined, { message: "top_k applies to token-choice routing only (with expert choice each expert picks its tokens)" });

export type LayerSpec = z.infer<typeof layerSchema>;
export type TransformerArchitecture = z.infer<typeof transformerArchitectureSchema>;

/** What the model needs besides the architecture: the task's vocabulary and the longest context it will see. */
export interface ModelDims {
  vocabSize: number;
  contextLength: number;
}

/** Parses an architecture JSON object; throws a zod error naming the bad field. */
export function parseArchitecture(input: unknown): TransformerArchitecture {
  return transformerArchitectureSchema.parse(input);
}

export function headSize(arch: TransformerArchitecture): number {
  return arch.d_model / arch.n_heads;
}

/** True for the two mixture-of-experts kinds of feed-forward block. */
export function isMixtureOfExperts(arch: { feed_forward?: FeedForwardKind }): boolean {
  return arch.feed_forward === "moe-token-choice" || arch.feed_forward === "moe-expert-choice";
}

/**
 * Experts that process a token on average: 1 for a dense block; top_k with token choice (fewer when a token is
 * over capacity); capacity_factor with expert choice (E experts × c tokens each over G tokens, c = G·capacity/E,
 * exactly when G·capacity is a multiple of E; moe.ts rounds c up).
 */
export function expertsPerToken(arch: TransformerArchitecture): number {
  if (arch.feed_forward === "moe-token-choice") return arch.top_k!;
  if (arch.feed_forward === "moe-expert-choice") return arch.capacity_factor!;
  return 1;
}

/** GLU variants (Shazeer 2020) have a gate and a value branch of the same width. */
export function isGated(activation: Activation): boolean {
  return activation === "geglu" || activation === "swiglu";
}

/** Chunk length of chunked causal linear attention (attention.ts): the largest divisor of T not above 16. */
export function chunkLength(T: number, max = 16): number {
  for (let c = Math.min(max, T); c > 1; c--) if (T % c === 0) return c;
  return 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Size and cost, without building the model

/** A dense layer [in, out] with a bias. */
function linearParamCount(inDim: number, outDim: number): number {
  return inDim * outDim + outDim;
}

/** LayerNorm (pre_ln, post_ln) has a gain and a bias, RMSNorm a gain only. */
function normParamCount(kind: NormKind, d: number): number {
  return kind === "rmsnorm" ? d : 2 * d;
}

/** q, k, v and output projections, each [d, d] with a bias; the same for every attention kind. */
function attentionParamCount(d: number): number {
  return 4 * linearParamCount(d, d);
}

/** Up (and, for GLU variants, gate) [d, hidden] and down [hidden, d] projections with biases. */
function feedForwardParamCount(d: number, hidden: number, activation: Activation): number {
  return (isGated(activation) ? 2 : 1) * linearParamCount(d, hidden) + linearParamCount(hidden, d);
}

/** A mixture of experts adds a router [d, E] without a bias (Switch Transformer) to E feed-forward blocks. */
function routerParamCount(arch: TransformerArchitecture): number {
  return isMixtureOfExperts(arch) ? arch.d_model * arch.experts! : 0;
}

/**
 * Trainable scalars of `TransformerLM` (model.ts); tested equal to the built model's count for a sample of the space.
 * With `expertsUsed` (per token), the parameters a token is computed with: `activeParameterCount`.
 */
export function parameterCount(arch: TransformerArchitecture, dims: ModelDims, expertsUsed?: number): number {
  const d = arch.d_model;
  const experts = expertsUsed ?? (isMixtureOfExperts(arch) ? arch.experts! : 1);
  let n = dims.vocabSize * d; // token embedding, tied with the output head
  if (arch.positions === "learned") n += dims.contextLength * d;
  for (const layer of arch.layers) {
    n += 2 * normParamCount(arch.norm, d);
    n += attentionParamCount(d);
    n += experts * feedForwardParamCount(d, arch.ff_mult * d, layer.activation) + routerParamCount(arch);
  }
  if (arch.norm !== "post_ln") n += normParamCount(arch.norm, d);
  return Math.round(n);
}

/**
 * Parameters a token is computed with: every parameter of a dense model; with mixture-of-experts layers the router
 * and the experts the token is routed to (`expertsPerToken`: top_k, or capacity_factor on average for expert
 * choice), not the others. The number to hold equal when comparing a mixture of experts with a dense model.
 */
export function activeParameterCount(arch: TransformerArchitecture, dims: ModelDims): number {
  return parameterCount(arch, dims, expertsPerToken(arch));
}

/**
 * Forward-pass FLOPs per token at context length T: 2 per multiply–add of every matrix product (projections,
 * feed-forward, embedding one-hot product, tied head, attention), elementwise work not counted. Softmax attention
 * is counted as computed: q·kᵀ and weights·v over all T keys (masked ones included), 4·T·d per layer. Chunked
 * linear attention (chunk C): the masked products inside a chunk, 4·C·d, plus the chunk states φKᵀV and the
 * read-out φQ·S, 4·hd·d per layer. A mixture of experts counts its router (2·d·E) and the experts a token is
 * routed to on average (`expertsPerToken`); moving tokens to and from experts is a copy, not counted. A training
 * step costs about 3× this (forward plus a backward twice as expensive).
 */
export function flopsPerToken(arch: TransformerArchitecture, dims: ModelDims): number {
  const d = arch.d_model;
  const V = dims.vocabSize;
  const T = dims.contextLength;
  let f = 2 * V * d /* one-hot embedding */ + 2 * d * V /* head */;
  for (const layer of arch.layers) {
    const h = arch.ff_mult * d;
    f += 2 * (3 * d * d + d * d); // q, k, v and output projections
    f += expertsPerToken(arch) * 2 * ((isGated(layer.activation) ? 2 : 1) * d * h + h * d);
    if (isMixtureOfExperts(arch)) f += 2 * d * arch.experts!; // router logits
    f += layer.attention === "linear" ? 4 * chunkLength(T) * d + 4 * headSize(arch) * d : 4 * T * d;
  }
  return f;
}
