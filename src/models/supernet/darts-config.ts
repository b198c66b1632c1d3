/**
 * The options of the `darts` strategy (the API adds `type: "darts"`), in a module of its own that loads zod only
 * (no tfjs), so that the API and the orchestrator can validate requests without loading the models.
 */
import { z } from "zod";
import { ATTENTION_KINDS } from "../transformer/architecture.js";
import { REMEDIES } from "./remedies.js";

/** Options of the `darts` strategy (the API adds `type: "darts"`); every field documents its default. */
export const dartsConfigSchema = z.object({
  order: z
    .union([z.literal(1), z.literal(2)])
    .default(1)
    .describe("1: first-order DARTS (V1, default); 2: second order with the finite-difference Hessian–vector product (V2, ~3× the cost of an α step)"),
  supernetSteps: z.number().int().min(1).max(100_000).default(200).describe("iterations of the supernet training (default 200)"),
  warmupSteps: z.number().int().min(0).optional().describe("first iterations that train the weights only, before α starts (default: a quarter of supernetSteps)"),
  weightLearningRate: z
    .number()
    .positive()
    .max(1)
    .optional()
    .describe("peak AdamW learning rate of the supernet weights, warm-up and cosine decay (default 3e-3 for transformers; for flows the train config's learningRate, else 1e-2)"),
  alphaLearningRate: z.number().positive().max(10).default(3e-2).describe("Adam learning rate of α (default 3e-2; the paper's 3e-4 is for its ~20,000 steps)"),
  alphaWeightDecay: z.number().min(0).default(1e-3).describe("L2 weight decay on α (default 1e-3, the paper's)"),
  unrolledLearningRate: z.number().min(0).optional().describe("order 2: ξ of the virtual step w − ξ∇L_train (default: the weight learning rate of the step)"),
  deriveTop: z.number().int().min(0).max(20).default(2).describe("alternatives derived after the argmax architecture (default 2); each becomes a trial"),
  alphaEvery: z.number().int().min(1).default(10).describe("report α of every decision every this many steps (default 10, and at the start and end)"),
  remedy: z
    .enum(REMEDIES)
    .default("none")
    .describe(
      "collapse remedy: none (default), darts+ (stop early when more than maxParameterFree layers select `none`), darts- (auxiliary skip with a weight decaying to 0); transformers only, flows have no parameter-free candidate",
    ),
  maxParameterFree: z.number().int().min(0).optional().describe("darts+: most decisions that may select a parameter-free candidate (default: half the layers, rounded down)"),
  auxSkipWeight: z.number().min(0).default(1).describe("darts-: initial weight β of the auxiliary skip, decayed linearly to 0 (default 1)"),
  attentionCandidates: z.array(z.enum(ATTENTION_KINDS)).min(1).optional().describe("attention kinds mixed in every layer (default: every kind of the space)"),
  activationCandidates: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe("activations mixed in every layer: the feed-forward activations of a transformer, the conditioner activations of a flow (default: every activation of the space)"),
  allowNone: z.boolean().default(true).describe("add `none` (the layer drops attention) to the attention candidates (default true)"),
  window: z.number().int().min(1).optional().describe("window of the local-attention candidate (default 16, or the base's)"),
  stride: z.number().int().min(1).optional().describe("stride of the strided-attention candidate (default 8, or the base's)"),
  baseArchitecture: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "architecture giving the decisions DARTS does not relax: for transformers n_layers, d_model, n_heads, ff_mult, positions, norm, dropout (default a 2-layer, 64-wide, 4-head model); for flows everything but the activation (default 4 affine coupling steps, MLP 32×2)",
    ),
});
export type DartsConfig = z.infer<typeof dartsConfigSchema>;
export type DartsConfigInput = z.input<typeof dartsConfigSchema>;

/** The base used when the config gives none: small enough for a CPU trainer. */
export const DEFAULT_BASE = { n_layers: 2, d_model: 64, n_heads: 4, ff_mult: 2, positions: "learned", norm: "pre_ln", dropout: 0 } as const;


/** The base used for flow spaces when the config gives none: a small RealNVP. */
export const DEFAULT_FLOW_BASE = { steps: 4, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: false, hidden_width: 32, hidden_depth: 2, activation: "relu", base: "standard_normal" } as const;

