/**
 * A decoder-only, causal Transformer language model built from the architecture JSON alone (GPT-2 layout, as in
 * nanoGPT's model.py): token embedding (+ learned or sinusoidal positions), n_layers blocks, a final norm for
 * pre-norm models, and an output head tied to the token embedding (Press & Wolf 2017).
 *
 * Tokens are embedded as one-hot · W_emb (a matMul), not `gather`: tfjs-wasm has no UnsortedSegmentSum, so
 * gather's gradient fails there. Activations stay 2-D [B·T, d] so matMuls take the fast wasm path.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArchitecture, type ModelDims, type TransformerArchitecture } from "./architecture.js";
import { SoftmaxAttention } from "./attention.js";
import { TransformerBlock } from "./block.js";
import { ConstantCache } from "./constants.js";
import { FeedForward } from "./feedforward.js";
import { LinearAttention } from "./linear-attention.js";
import { makeNorm, type Norm } from "./norm.js";
import type { SequenceContext, SequenceOp } from "./ops.js";
import { ParamStore } from "./params.js";
import { sinusoidalTable } from "./positions.js";

export interface ForwardOptions {
  /** Dropout on (training) or off. Default false. */
  training?: boolean;
  /** Training step, part of the dropout seeds so each step draws new masks. */
  step?: number;
}

/** What surrounds the blocks of a Transformer LM; TransformerLM and the DARTS supernet differ only in their blocks. */
export interface LanguageModelParts {
  arch: Pick<TransformerArchitecture, "d_model" | "dropout" | "positions">;
  dims: ModelDims;
  embedding: tf.Variable; // [V, d]
  positionTable?: tf.Variable; // [T_max, d], learned positions only
  blocks: readonly { apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D }[];
  finalNorm?: Norm;
  constants: ConstantCache;
  seed: number;
}

/**
 * The forward pass: token embedding (+ absolute positions), embedding dropout, the blocks, the final norm, and the
 * head tied to the embedding. tokens: [B, T] int32 (T ≤ contextLength) → logits [B·T, V].
 */
export function languageModelForward(m: LanguageModelParts, tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
  const [B, T] = tokens.shape;
  if (T > m.dims.contextLength) throw new RangeError(`sequence length ${T} exceeds the context length ${m.dims.contextLength}`);
  const d = m.arch.d_model;
  const training = opts.training === true && m.arch.dropout > 0;
  const step = opts.step ?? 0;
  let layerIndex = -1;
  const ctx: SequenceContext = {
    batch: B,
    seqLen: T,
    training,
    positions: m.arch.positions,
    constants: m.constants,
    dropout: (x, site) => (training ? (tf.dropout(x, m.arch.dropout, undefined, dropoutSeed(m.seed, step, layerIndex, site)) as tf.Tensor2D) : x),
  };
  const oneHot = oneHotFloat(tokens, m.dims.vocabSize); // [B·T, V]
  let x = tf.matMul(oneHot, m.embedding as tf.Tensor2D) as tf.Tensor2D; // [B·T, d]
  if (m.arch.positions === "learned" || m.arch.positions === "sinusoidal") {
    const table =
      m.arch.positions === "learned"
        ? tf.slice(m.positionTable!, [0, 0], [T, d])
        : tf.slice(m.constants.get(`sinusoidal:${m.dims.contextLength}:${d}`, () => sinusoidalTable(m.dims.contextLength, d)), [0, 0], [T, d]); // [T, d]
    x = tf.reshape(tf.add(tf.reshape(x, [B, T, d]), table), [B * T, d]) as tf.Tensor2D;
  }
  x = ctx.dropout(x, "embedding");
  for (const [i, block] of m.blocks.entries()) {
    layerIndex = i;
    x = block.apply(x, ctx);
  }
  if (m.finalNorm) x = m.finalNorm.apply(x);
  return tf.matMul(x, m.embedding as tf.Tensor2D, false, true) as tf.Tensor2D; // [B·T, V], head tied to the embedding
}

export class TransformerLM {
  readonly arch: TransformerArchitecture;
  readonly dims: ModelDims;
  readonly params: ParamStore;
  readonly blocks: TransformerBlock[] = [];
  private readonly embedding: tf.Variable; // [V, d]
  private readonly positionTable?: tf.Variable; // [T_max, d], learned positions only
  private readonly finalNorm?: Norm;
  private readonly constants = new ConstantCache();
  private readonly seed: number;

  /** `architecture` is validated here; a zod error names the bad field. */
  constructor(architecture: unknown, dims: ModelDims, seed: number) {
    const arch = parseArchitecture(architecture);
    this.arch = arch;
    this.dims = dims;
    this.seed = seed;
    const d = arch.d_model;
    this.params = new ParamStore(seed);
    this.embedding = this.params.add("embedding", [dims.vocabSize, d], { kind: "normal", std: 0.02 });
    if (arch.positions === "learned") this.positionTable = this.params.add("positions", [dims.contextLength, d], { kind: "normal", std: 0.02 });
    arch.layers.forEach((layer, i) => {
      const name = `layers.${i}`;
      const opts = { d, nHeads: arch.n_heads, nLayers: arch.n_layers };
      const norm1 = makeNorm(arch.norm, this.params, `${name}.norm1`, d);
      const attention: SequenceOp =
        layer.attention === "linear" ? new LinearAttention(this.params, `${name}.attn`, layer, opts) : new SoftmaxAttention(this.params, `${name}.attn`, layer, opts);
      const norm2 = makeNorm(arch.norm, this.params, `${name}.norm2`, d);
      const ffn = new FeedForward(this.params, `${name}.ffn`, { d, hidden: arch.ff_mult * d, activation: layer.activation, nLayers: arch.n_layers });
      this.blocks.push(new TransformerBlock(attention, ffn, norm1, norm2, arch.norm));
    });
    if (arch.norm !== "post_ln") this.finalNorm = makeNorm(arch.norm, this.params, "final_norm", d);
  }

  /** tokens: [B, T] int32 (T ≤ contextLength) → logits [B·T, V]. Call inside tf.tidy (or a gradient function). */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const { arch, dims, embedding, positionTable, blocks, finalNorm, constants, seed } = this;
    return languageModelForward({ arch, dims, embedding, positionTable, blocks, finalNorm, constants, seed }, tokens, opts);
  }

  /** Mean cross-entropy in nats of next-token targets [B, T] (weights [B, T] select positions; default all). */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions & { weights?: tf.Tensor2D } = {}): tf.Scalar {
    return crossEntropy(this.forward(tokens, opts), targets, this.dims.vocabSize, opts.weights);
  }

  trainableVariables(): tf.Variable[] {
    return this.params.variables();
  }

  /** Number of trainable scalars of the built model. */
  parameterCount(): number {
    return this.params.count();
  }

  dispose(): void {
    this.params.dispose();
    this.constants.dispose();
  }
}

/** logits [N, V], targets [.., ..] int32 with N entries → mean −log p(target) over the weighted positions. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor, vocabSize: number, weights?: tf.Tensor): tf.Scalar {
  const n = logits.shape[0];
  const onehot = oneHotFloat(targets, vocabSize); // [N, V]
  const nll = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)); // [N]
  if (!weights) return tf.mean(nll);
  const w = tf.reshape(weights, [n]);
  return tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(tf.sum(w), 1e-9)) as tf.Scalar;
}

/**
 * Integer ids (any shape, N entries) → float32 one-hot rows [N, V]. tfjs-wasm's OneHot ignores a float32 dtype and
 * writes int32 bits, so the one-hot is built as int32 and cast.
 */
export function oneHotFloat(ids: tf.Tensor, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(tf.reshape(ids, [ids.size]) as tf.Tensor1D, depth), "float32") as tf.Tensor2D;
}

/** Dropout seed from (model seed, step, layer, site): a new mask every step and site, reproducible per run. */
export function dropoutSeed(seed: number, step: number, layer: number, site: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of [step, layer + 1, ...Array.from(site, (c) => c.charCodeAt(0))]) {
    h = Math.imul(h ^ part, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}
