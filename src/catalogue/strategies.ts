/**
 * The strategies a search may name, as options only: the `strategy` field of a search request is validated
 * against these schemas (and documented by them at /docs) without loading any implementation. Implementations
 * (src/strategies/, the orchestrator's) import their options from here. Every field documents its default.
 */
import { z } from "zod";
import { ATTENTION_KINDS } from "../models/transformer/config.js";

/** DARTS' remedies for the collapse toward parameter-free candidates (src/models/supernet/remedies.ts). */
export const REMEDIES = ["none", "darts+", "darts-"] as const;

export const randomOptions = z.object({
  maxTriesPerProposal: z.number().int().min(1).max(100_000).default(200).describe("samples drawn to find an unseen architecture before giving up (default 200)"),
});

export const evolutionOptions = z.object({
  populationSize: z
    .number()
    .int()
    .min(2)
    .max(10_000)
    .default(20)
    .describe("P: the last P finished trials form the population; the oldest dies when a new one arrives (default 20)"),
  sampleSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(10)
    .describe("S: members sampled per tournament; the best of them is the parent (default 10; must be ≤ populationSize)"),
  seedArchitectures: z
    .array(z.union([z.record(z.string(), z.unknown()), z.string().min(1).max(1000)]))
    .max(1000)
    .optional()
    .describe(
      "architectures to warm-start with (e.g. a known good model or the leaderboard's best), each in the space's JSON form or, for NAS-Bench-201 spaces, the benchmark's string (`|nor_conv_3x3~0|+|…~0|…~1|+|…~0|…~1|…~2|`): proposed first, before any random sample; an invalid one is a 400 naming its decision (default: none)",
    ),
  maxDuplicateTries: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(50)
    .describe("mutations (or samples) tried to find an architecture not yet proposed in this search (default 50)"),
});

export const reinforceOptions = z.object({
  hiddenSize: z.number().int().min(2).max(512).default(32).describe("LSTM hidden size, also the size of the choice embeddings (default 32)"),
  learningRate: z.number().positive().max(10).default(0.05).describe("Adam's learning rate for the controller (default 0.05)"),
  baselineDecay: z.number().min(0).max(1).default(0.7).describe("decay of the moving-average baseline of the score (default 0.7: it follows the improving policy closely)"),
  entropyWeight: z.number().min(0).max(10).default(0.001).describe("weight of the entropy bonus that keeps the policy exploring (default 0.001)"),
  batchSize: z.number().int().min(1).max(1000).default(3).describe("finished trials per policy update (default 3)"),
  maxDuplicateTries: z.number().int().min(1).max(1000).default(10).describe("policy samples drawn to find an architecture not yet proposed (default 10)"),
});

export const localSearchOptions = z.object({
  initialSamples: z.number().int().min(1).max(10_000).default(10).describe("uniform samples that start each run; the best becomes the first center (default 10)"),
  maxTries: z.number().int().min(1).max(10_000).default(50).describe("samples drawn to find an architecture not yet proposed (default 50)"),
});

export const predictorOptions = z.object({
  initialSamples: z.number().int().min(2).max(10_000).default(10).describe("uniform samples before the surrogate is used (default 10)"),
  candidates: z.number().int().min(1).max(100_000).default(100).describe("architectures scored by the surrogate per proposal (default 100)"),
  ridge: z.number().positive().max(1e6).default(1).describe("L2 penalty λ of the ridge regressions (default 1)"),
  pairwise: z.boolean().default(true).describe("add products of pairs of one-hot columns to the encoding (default true)"),
  maxTries: z.number().int().min(1).max(10_000).default(50).describe("samples drawn to find an architecture not yet proposed (default 50)"),
});

/** Options of the `darts` strategy (the API adds `type: "darts"`); every field documents its default. */
export const dartsOptions = z.object({
  order: z
    .union([z.literal(1), z.literal(2)])
    .default(1)
    .describe("1: first-order DARTS (V1, default); 2: second order with the finite-difference Hessian–vector product (V2, ~3× the cost of an α step)"),
  supernetSteps: z.number().int().min(1).max(100_000).default(200).describe("iterations of the supernet training (default 200)"),
  warmupSteps: z.number().int().min(0).max(100_000).optional().describe("first iterations that train the weights only, before α starts (default: a quarter of supernetSteps)"),
  weightLearningRate: z
    .number()
    .positive()
    .max(1)
    .optional()
    .describe("peak AdamW learning rate of the supernet weights, warm-up and cosine decay (default 3e-3 for transformers; for flows the train config's learningRate, else 1e-2)"),
  alphaLearningRate: z.number().positive().max(10).default(3e-2).describe("Adam learning rate of α (default 3e-2; the paper's 3e-4 is for its ~20,000 steps)"),
  alphaWeightDecay: z.number().min(0).max(10).default(1e-3).describe("L2 weight decay on α (default 1e-3, the paper's)"),
  unrolledLearningRate: z.number().min(0).max(10).optional().describe("order 2: ξ of the virtual step w − ξ∇L_train (default: the weight learning rate of the step)"),
  deriveTop: z.number().int().min(0).max(20).default(2).describe("alternatives derived after the argmax architecture (default 2); each becomes a trial"),
  alphaEvery: z.number().int().min(1).max(100_000).default(10).describe("report α of every decision every this many steps (default 10, and at the start and end)"),
  remedy: z
    .enum(REMEDIES)
    .default("none")
    .describe(
      "collapse remedy: none (default), darts+ (stop early when more than maxParameterFree layers select `none`), darts- (auxiliary skip with a weight decaying to 0); transformers only, flows have no parameter-free candidate",
    ),
  maxParameterFree: z.number().int().min(0).max(10_000).optional().describe("darts+: most decisions that may select a parameter-free candidate (default: half the layers, rounded down)"),
  auxSkipWeight: z.number().min(0).max(100).default(1).describe("darts-: initial weight β of the auxiliary skip, decayed linearly to 0 (default 1)"),
  attentionCandidates: z.array(z.enum(ATTENTION_KINDS)).min(1).max(64).optional().describe("attention kinds mixed in every layer (default: every kind of the space)"),
  activationCandidates: z
    .array(z.string().min(1).max(100))
    .min(1)
    .max(64)
    .optional()
    .describe("activations mixed in every layer: the feed-forward activations of a transformer, the conditioner activations of a flow (default: every activation of the space)"),
  allowNone: z.boolean().default(true).describe("add `none` (the layer drops attention) to the attention candidates (default true)"),
  window: z.number().int().min(1).max(1_000_000).optional().describe("window of the local-attention candidate (default 16, or the base's)"),
  stride: z.number().int().min(1).max(1_000_000).optional().describe("stride of the strided-attention candidate (default 8, or the base's)"),
  baseArchitecture: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "architecture giving the decisions DARTS does not relax: for transformers n_layers, d_model, n_heads, ff_mult, positions, norm, dropout (default a 2-layer, 64-wide, 4-head model); for flows everything but the activation (default 4 affine coupling steps, MLP 32×2)",
    ),
});
export type DartsConfig = z.infer<typeof dartsOptions>;
export type DartsConfigInput = z.input<typeof dartsOptions>;

/** The base used when the config gives none: small enough for a CPU trainer. */
export const DEFAULT_BASE = { n_layers: 2, d_model: 64, n_heads: 4, ff_mult: 2, positions: "learned", norm: "pre_ln", dropout: 0 } as const;

/** The base used for flow spaces when the config gives none: a small RealNVP. */
export const DEFAULT_FLOW_BASE = { steps: 4, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: false, hidden_width: 32, hidden_depth: 2, activation: "relu", base: "standard_normal" } as const;


export type RandomOptions = z.infer<typeof randomOptions>;
export type EvolutionOptions = z.infer<typeof evolutionOptions>;
export type ReinforceOptions = z.infer<typeof reinforceOptions>;
export type LocalSearchOptions = z.infer<typeof localSearchOptions>;
export type PredictorOptions = z.infer<typeof predictorOptions>;

export interface StrategyEntry {
  type: string;
  description: string;
  /** zod schema of the options object, `type` excluded. */
  options: z.ZodObject;
  /** A rule between options that a schema cannot state: the field at fault and why, or undefined. */
  check?(options: Record<string, unknown>): { field: string; message: string } | undefined;
  /**
   * Ranks by every objective of a list (and by constraint violation) and keeps the constraints on costs known before
   * training itself (src/strategies/strategy.ts: TrialResult.scores, StrategyArgs.feasible). Only such a strategy may
   * run a search of several objectives.
   */
  multiObjective?: boolean;
}

export const STRATEGY_CATALOGUE = [
  { type: "random", description: "Uniform random sampling without repeats (the baseline).", options: randomOptions, multiObjective: true },
  {
    type: "evolution",
    description:
      "Regularized (aging) evolution (Real et al. 2019): tournament selection, one-decision mutation, the oldest member dies; with several objectives or constraints the tournament ranks by non-dominated sorting and crowding distance (NSGA-II).",
    options: evolutionOptions,
    multiObjective: true,
    check: (o) => {
      const { sampleSize, populationSize } = evolutionOptions.parse(o);
      return sampleSize > populationSize ? { field: "strategy.sampleSize", message: `must be ≤ populationSize (${populationSize})` } : undefined;
    },
  },
  { type: "reinforce", description: "REINFORCE with an LSTM controller (Zoph & Le 2017): moving-average baseline, entropy bonus, Adam.", options: reinforceOptions },
  {
    type: "local-search",
    description: "Local search with random restarts (White et al. 2021): walk to better one-decision neighbours of the best architecture.",
    options: localSearchOptions,
  },
  {
    type: "predictor",
    description: "Predictor-guided search: Thompson sampling over a bootstrap ensemble of ridge regressions on one-hot (pairwise) encodings.",
    options: predictorOptions,
  },
  {
    type: "darts",
    description:
      "DARTS: one supernet job (softmax-mixed candidate operations, bi-level optimisation on a trainer), then the derived architectures retrained from scratch as ordinary trials.",
    options: dartsOptions,
  },
] as const satisfies readonly StrategyEntry[];

export type StrategyType = (typeof STRATEGY_CATALOGUE)[number]["type"];
export const STRATEGY_TYPES = STRATEGY_CATALOGUE.map((s) => s.type) as StrategyType[];

/**
 * Request schema of `strategy`: a union discriminated by `type`, each with its own options, strict: an unknown
 * option (a typo such as `populationSze`) is an error, not silently dropped. The option schemas themselves stay
 * lenient for the implementations that parse stored options with them.
 */
export const strategyConfigSchema = z.discriminatedUnion(
  "type",
  STRATEGY_CATALOGUE.map((s) => s.options.extend({ type: z.literal(s.type) }).strict().describe(s.description)) as unknown as [
    z.ZodObject<{ type: z.ZodLiteral<string> }>,
    ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
  ],
);
/** A search's `strategy` as stored: its type and its options. */
export type StrategyConfig = { type: string } & Record<string, unknown>;

export function strategyEntry(type: string): StrategyEntry | undefined {
  return (STRATEGY_CATALOGUE as readonly StrategyEntry[]).find((s) => s.type === type);
}
