export * from "./architecture.js";
export { TransformerLM, crossEntropy, dropoutSeed, type ForwardOptions } from "./model.js";
export { parameterCount, flopsPerToken } from "./count.js";
export { sampleTokens } from "./sample.js";
export { noneOp, type SequenceOp, type SequenceContext } from "./ops.js";
export { SoftmaxAttention } from "./attention.js";
export { LinearAttention } from "./linear-attention.js";
export { FeedForward } from "./feedforward.js";
export { TransformerBlock } from "./block.js";
