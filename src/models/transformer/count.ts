/**
 * Analytic size and cost of a Transformer architecture, without building it. `parameterCount` must equal the
 * trainable parameter count of `TransformerLM` (tested for a sample of the space).
 */
import { headSize, isGated, type ModelDims, type TransformerArchitecture } from "./architecture.js";
import { SoftmaxAttention } from "./attention.js";
import { FeedForward } from "./feedforward.js";
import { chunkLength } from "./linear-attention.js";
import { normParamCount } from "./norm.js";

export function parameterCount(arch: TransformerArchitecture, dims: ModelDims): number {
  const d = arch.d_model;
  let n = dims.vocabSize * d; // token embedding, tied with the output head
  if (arch.positions === "learned") n += dims.contextLength * d;
  for (const layer of arch.layers) {
    n += 2 * normParamCount(arch.norm, d);
    n += SoftmaxAttention.paramCount(d); // linear attention has the same projections
    n += FeedForward.paramCount(d, arch.ff_mult * d, layer.activation);
  }
  if (arch.norm !== "post_ln") n += normParamCount(arch.norm, d);
  return n;
}

/**
 * Forward-pass FLOPs per token at context length T: 2 per multiply–add of every matrix product (projections,
 * feed-forward, embedding one-hot product, tied head, attention), elementwise work not counted. Softmax attention
 * is counted as computed: q·kᵀ and weights·v over all T keys (masked ones included), 4·T·d per layer. Chunked
 * linear attention (chunk C): the masked products inside a chunk, 4·C·d, plus the chunk states φKᵀV and the
 * read-out φQ·S, 4·hd·d per layer. A training step costs about 3× this (forward plus a backward twice as expensive).
 */
export function flopsPerToken(arch: TransformerArchitecture, dims: ModelDims): number {
  const d = arch.d_model;
  const V = dims.vocabSize;
  const T = dims.contextLength;
  let f = 2 * V * d /* one-hot embedding */ + 2 * d * V /* head */;
  for (const layer of arch.layers) {
    const h = arch.ff_mult * d;
    f += 2 * (3 * d * d + d * d); // q, k, v and output projections
    f += 2 * ((isGated(layer.activation) ? 2 : 1) * d * h + h * d);
    f += layer.attention === "linear" ? 4 * chunkLength(T) * d + 4 * headSize(arch) * d : 4 * T * d;
  }
  return f;
}
