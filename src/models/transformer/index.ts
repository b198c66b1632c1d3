/**
 * The Transformer building blocks, read in this order: config.ts (the architecture object and its analytic
 * counts; no tfjs), nn.ts (parameters, dense layer, constants, the SequenceOp interface), attention.ts (every
 * attention kind and the positions inside attention), feed-forward.ts (the dense block and activations), moe.ts
 * (mixture of experts), recompute.ts (activation recomputation), model.ts (norms, the block, the LM, sampling).
 * Code outside this folder imports this file, or config.ts alone where tfjs must not load.
 */
export * from "./config.js";
export { noneOp, ConstantCache, ParamStore, type SequenceOp, type SequenceContext } from "./nn.js";
export { SoftmaxAttention, LinearAttention, allowedPattern, applyRotary, rotaryTables } from "./attention.js";
export { causalLinearAttention, causalLinearAttentionByPosition, naiveLinearAttention } from "./attention.js";
export { TransformerLM, languageModelForward, crossEntropy, dropoutSeed, sampleTokens, type ForwardOptions } from "./model.js";
export { FeedForward, TransformerBlock, layerNorm, makeNorm, gelu, DEFAULT_MOE_AUX_WEIGHT, type Norm } from "./model.js";
export { MixtureOfExperts, RoutingStats, expertCapacity, tokenChoiceRouting, expertChoiceRouting, gatherRows, scatterRows, loadBalancingLoss, type MoeRouting, type Routing } from "./moe.js";
export { recomputed, type BlockOutput } from "./recompute.js";
