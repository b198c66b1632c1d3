/**
 * A decoder-only, causal Transformer language model built from the architecture JSON alone (GPT-2 layout, as in
 * nanoGPT's model.py): token embedding (+ learned or sinusoidal positions), n_layers blocks, a final norm for
 * pre-norm models, and an output head tied to the token embedding (Press & Wolf 2017). Read top-down: norms, the
 * block, the model and its loss, sampling. Attention is in attention.ts, the dense feed-forward block and its
 * activations in feed-forward.ts, the mixture of experts in moe.ts, recomputation in recompute.ts, the
 * architecture object and its analytic counts in config.ts, parameters and the op interface in nn.ts.
 *
 * Tokens are embedded as one-hot · W_emb (a matMul), not `gather`: tfjs-wasm has no UnsortedSegmentSum, so
 * gather's gradient fails there. Activations stay 2-D [B·T, d] so matMuls take the fast wasm path.
 *
 * Shapes: B sequences, T positions, d = d_model, h = ff_mult · d the feed-forward width, V the vocabulary.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";
import { fusedLayerNorm, fusedRmsNorm, fusedTokenNll } from "../fused-ops.js";
import { fusedKernels } from "../native-kernels.js";
import { LinearAttention, SoftmaxAttention } from "./attention.js";
import { isMixtureOfExperts, parseArchitecture, type LayerSpec, type ModelDims, type NormKind, type TransformerArchitecture } from "./config.js";
import { FeedForward } from "./feed-forward.js";
import { MixtureOfExperts } from "./moe.js";
import { ConstantCache, ParamStore, type SequenceContext, type SequenceOp } from "./nn.js";
import { recomputed } from "./recompute.js";

export { FeedForward, gelu } from "./feed-forward.js";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

// ---------------------------------------------------------------------------------------------------------------
// Norms

/**
 * Normalisation over the feature axis of [N, d] activations.
 *   - LayerNorm (Ba et al. 2016): (x − mean) / sqrt(var + ε) · γ + β
 *   - RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + ε) · γ
 * Where a norm sits (pre-LN, post-LN) is the block's business (TransformerBlock).
 */
export interface Norm {
  apply(x: tf.Tensor2D): tf.Tensor2D;
}

const EPS = 1e-5;

class LayerNorm implements Norm {
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  constructor(params: ParamStore, name: string, d: number) {
    this.gamma = params.add(`${name}.gamma`, [d], { kind: "ones" });
    this.beta = params.add(`${name}.beta`, [d], { kind: "zeros" });
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // On the native route one fused call per direction (fused-ops.ts), the same quantity.
    if (fusedKernels() && x.dtype === "float32") return fusedLayerNorm(x, this.gamma, this.beta);
    return layerNorm(x, this.gamma, this.beta);
  }
}

/**
 * y = x̂·γ + β with x̂ = (x − μ)·r, r = 1/√(σ² + ε), over the last axis of x [N, d]. Gradients:
 *   dβ = Σ_N dy,  dγ = Σ_N dy·x̂,  dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ.
 * A hand-written gradient (the standard closed form, as in fused CUDA kernels): autodiff through moments would
 * launch about twice as many small kernels, and on tfjs-wasm each launch costs more than its arithmetic. The
 * finite-difference test in transformer-model.test.ts checks it.
 */
export const layerNorm = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
  const mean = tf.mean(x, -1, true); // [N, 1]
  const centered = tf.sub(x, mean); // [N, d]
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), EPS)); // [N, 1]
  const xhat = tf.mul(centered, r); // [N, d]
  save([xhat, r, gamma]);
  return {
    value: tf.add(tf.mul(xhat, gamma), beta),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const gdy = tf.mul(dy, g);
      const dx = tf.mul(rs, tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gdy, xh), -1, true))));
      return [dx, tf.sum(tf.mul(dy, xh), 0), tf.sum(dy, 0)];
    },
  };
}) as unknown as CustomGradient) as (x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor2D;

class RMSNorm implements Norm {
  private readonly gamma: tf.Variable;
  constructor(params: ParamStore, name: string, d: number) {
    this.gamma = params.add(`${name}.gamma`, [d], { kind: "ones" });
  }
  /** x: [N, d] → [N, d] */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (fusedKernels() && x.dtype === "float32") return fusedRmsNorm(x, this.gamma);
    const ms = tf.mean(tf.square(x), -1, true); // [N, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, EPS))), this.gamma);
  }
}

/** pre_ln and post_ln use LayerNorm; rmsnorm uses RMSNorm in the pre-norm position. */
export function makeNorm(kind: NormKind, params: ParamStore, name: string, d: number): Norm {
  return kind === "rmsnorm" ? new RMSNorm(params, name, d) : new LayerNorm(params, name, d);
}

// ---------------------------------------------------------------------------------------------------------------
// Feed-forward

/** The feed-forward op of a layer: the dense block, or a mixture of experts of it (moe.ts). */
function makeFeedForward(params: ParamStore, name: string, arch: TransformerArchitecture, layer: LayerSpec): SequenceOp {
  const dense = { d: arch.d_model, hidden: arch.ff_mult * arch.d_model, activation: layer.activation, nLayers: arch.n_layers };
  if (!isMixtureOfExperts(arch)) return new FeedForward(params, name, dense);
  return new MixtureOfExperts(params, name, {
    ...dense,
    routing: arch.feed_forward === "moe-token-choice" ? "token-choice" : "expert-choice",
    experts: arch.experts!,
    topK: arch.top_k ?? 1,
    capacityFactor: arch.capacity_factor!,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Block

/**
 * One Transformer layer: an attention op and a feed-forward op, each in a residual branch with a norm.
 *   pre-LN / RMSNorm (Xiong et al. 2020; GPT-2):  x ← x + drop(attn(norm₁(x)));  x ← x + drop(ffn(norm₂(x)))
 *   post-LN (Vaswani et al. 2017):                x ← norm₁(x + drop(attn(x)));  x ← norm₂(x + drop(ffn(x)))
 * The two ops are any SequenceOp, so a DARTS mixed op can take the place of either.
 */
export class TransformerBlock {
  constructor(
    readonly attention: SequenceOp,
    readonly feedForward: SequenceOp,
    private readonly norm1: Norm,
    private readonly norm2: Norm,
    private readonly placement: NormKind,
  ) {}

  /** x: [B·T, d] → [B·T, d]; ctx.dropout sites are "attn" and "ffn". */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    if (this.placement === "post_ln") {
      const h = this.norm1.apply(tf.add(x, ctx.dropout(this.attention.apply(x, ctx), "attn")) as tf.Tensor2D);
      return this.norm2.apply(tf.add(h, ctx.dropout(this.feedForward.apply(h, ctx), "ffn")) as tf.Tensor2D);
    }
    const h = tf.add(x, ctx.dropout(this.attention.apply(this.norm1.apply(x), ctx), "attn")) as tf.Tensor2D;
    return tf.add(h, ctx.dropout(this.feedForward.apply(this.norm2.apply(h), ctx), "ffn")) as tf.Tensor2D;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Model

/**
 * Absolute positions added to the token embeddings: `learned` is a trained table [T_max, d], `sinusoidal` this
 * constant one (Vaswani et al. 2017, §3.5): PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)).
 * `alibi` and `rotary` act inside attention (attention.ts). [T, d]
 */
function sinusoidalTable(T: number, d: number): tf.Tensor2D {
  const values = new Float32Array(T * d);
  for (let p = 0; p < T; p++) {
    for (let c = 0; c < d; c++) {
      const i = Math.floor(c / 2);
      const angle = p / Math.pow(10000, (2 * i) / d);
      values[p * d + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [T, d]);
}

export interface ForwardOptions {
  /** Dropout on (training) or off. Default false. */
  training?: boolean;
  /** Training step, part of the dropout seeds so each step draws new masks. */
  step?: number;
  /** Keep only each block's input and recompute the block in the backward pass (recompute.ts). Default false. */
  recompute?: boolean;
  /** Collects the ops' auxiliary losses (mixture-of-experts load balancing); without it none are computed. */
  auxLosses?: tf.Scalar[];
}

/** Weight of the load-balancing loss of mixture-of-experts layers in the training loss (Switch Transformer's α). */
export const DEFAULT_MOE_AUX_WEIGHT = 0.01;

/** What surrounds the blocks of a Transformer LM; TransformerLM and the DARTS supernet differ only in their blocks. */
export interface LanguageModelParts {
  arch: Pick<TransformerArchitecture, "d_model" | "dropout" | "positions">;
  dims: ModelDims;
  embedding: tf.Variable; // [V, d]
  positionTable?: tf.Variable; // [T_max, d], learned positions only
  blocks: readonly { apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D }[];
  /** Trainable variables of each block, needed by `recompute` (the recomputed op must name its inputs). */
  blockVariables?: readonly (readonly tf.Variable[])[];
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
  // One context per layer (-1: the embedding), so that a block recomputed in the backward pass draws the same masks.
  const contextOf = (layerIndex: number, extra: Partial<SequenceContext> = {}): SequenceContext => ({
    batch: B,
    seqLen: T,
    training,
    positions: m.arch.positions,
    constants: m.constants,
    dropout: (x, site) => (training ? (tf.dropout(x, m.arch.dropout, undefined, dropoutSeed(m.seed, step, layerIndex, site)) as tf.Tensor2D) : x),
    ...(opts.auxLosses ? { addLoss: (loss: tf.Scalar) => void opts.auxLosses!.push(loss) } : {}),
    ...extra,
  });
  const ctx = contextOf(-1);
  const oneHot = oneHotFloat(tokens, m.dims.vocabSize); // [B·T, V]
  let x = tf.matMul(oneHot, m.embedding as tf.Tensor2D) as tf.Tensor2D; // [B·T, d]
  if (m.arch.positions === "learned" || m.arch.positions === "sinusoidal") {
    const table =
      m.arch.positions === "learned"
        ? tf.slice(m.positionTable!, [0, 0], [T, d])
        : tf.slice(m.constants.get(`sinusoidal:${m.dims.contextLength}:${d}`, () => sinusoidalTable(m.dims.contextLength, d)), [0, 0], [T, d]); // [T, d]
    x = tf.reshape(tf.add(tf.reshape(x, [B, T, d]), table), [B * T, d]) as tf.Tensor2D; // [B, T, d] + [T, d] → [B·T, d]
  }
  x = ctx.dropout(x, "embedding");
  for (const [i, block] of m.blocks.entries()) {
    if (!opts.recompute) {
      x = block.apply(x, contextOf(i)); // [B·T, d]
      continue;
    }
    if (!m.blockVariables) throw new Error("recompute needs the blocks' variables");
    // The block's auxiliary losses are summed into one output of the recomputed op, so that they stay differentiable.
    const run = (input: tf.Tensor2D, recomputing: boolean) => {
      const aux: tf.Scalar[] = [];
      const y = block.apply(input, contextOf(i, { recomputing, ...(opts.auxLosses ? { addLoss: (loss: tf.Scalar) => void aux.push(loss) } : {}) }));
      return { y, aux: aux.length > 0 ? (tf.addN(aux) as tf.Scalar) : undefined };
    };
    const out = recomputed(run, x, m.blockVariables[i]!, opts.auxLosses !== undefined);
    if (out.aux) opts.auxLosses!.push(out.aux);
    x = out.y; // [B·T, d]
  }
  if (m.finalNorm) x = m.finalNorm.apply(x);
  return tf.matMul(x, m.embedding as tf.Tensor2D, false, true) as tf.Tensor2D; // [B·T, V], head tied to the embedding
}

export class TransformerLM {
  readonly arch: TransformerArchitecture;
  readonly dims: ModelDims;
  readonly params: ParamStore;
  readonly blocks: TransformerBlock[] = [];
  /** Trainable variables of each block (names `layers.<i>.…`), for recomputation. */
  readonly blockVariables: tf.Variable[][] = [];
  /** The mixture-of-experts feed-forward ops, in layer order (empty for a dense model). */
  readonly mixtures: MixtureOfExperts[] = [];
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
      const ffn = makeFeedForward(this.params, `${name}.ffn`, arch, layer);
      this.blocks.push(new TransformerBlock(attention, ffn, norm1, norm2, arch.norm));
      this.blockVariables.push(this.params.entries().filter(([n]) => n.startsWith(`${name}.`)).map(([, v]) => v));
      if (ffn instanceof MixtureOfExperts) this.mixtures.push(ffn);
    });
    if (arch.norm !== "post_ln") this.finalNorm = makeNorm(arch.norm, this.params, "final_norm", d);
  }

  /** tokens: [B, T] int32 (T ≤ contextLength) → logits [B·T, V]. Call inside tf.tidy (or a gradient function). */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const { arch, dims, embedding, positionTable, blocks, blockVariables, finalNorm, constants, seed } = this;
    return languageModelForward({ arch, dims, embedding, positionTable, blocks, blockVariables, finalNorm, constants, seed }, tokens, opts);
  }

  /**
   * Mean cross-entropy in nats of next-token targets [B, T] (weights [B, T] select positions; default all). In
   * training mode, plus `auxWeight` (default DEFAULT_MOE_AUX_WEIGHT) times the mixture-of-experts layers'
   * load-balancing losses, summed over layers (token choice only; expert choice has none).
   */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D, opts: ForwardOptions & { weights?: tf.Tensor2D; auxWeight?: number } = {}): tf.Scalar {
    const auxWeight = opts.auxWeight ?? DEFAULT_MOE_AUX_WEIGHT;
    const auxLosses: tf.Scalar[] | undefined = opts.training && auxWeight > 0 && this.mixtures.length > 0 ? [] : undefined;
    const ce = crossEntropy(this.forward(tokens, { ...opts, auxLosses }), targets, this.dims.vocabSize, opts.weights);
    return auxLosses && auxLosses.length > 0 ? (tf.add(ce, tf.mul(tf.addN(auxLosses), auxWeight)) as tf.Scalar) : ce;
  }

  /**
   * How the mixture-of-experts layers routed the tokens of the forward passes since `resetRouting()` (undefined
   * for a dense model). `expertLoad[l][e]`: expert e's share of layer l's token–expert pairs (sums to 1 per layer).
   */
  routing(): { expertLoad: number[][]; droppedFraction: number } | undefined {
    if (this.mixtures.length === 0) return undefined;
    const tokens = this.mixtures.reduce((s, m) => s + m.stats.tokens, 0);
    const dropped = this.mixtures.reduce((s, m) => s + m.stats.dropped, 0);
    return { expertLoad: this.mixtures.map((m) => m.stats.load()), droppedFraction: tokens > 0 ? dropped / tokens : 0 };
  }

  resetRouting(): void {
    for (const m of this.mixtures) m.stats.reset();
  }

  trainableVariables(): tf.Variable[] {
    return this.params.variables();
  }

  /** Number of trainable scalars of the built model (config.ts's `parameterCount` computes it without building). */
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
  const nll = fusedKernels() && logits.dtype === "float32" ? fusedTokenNll(logits, tf.cast(tf.reshape(targets, [n]), "int32") as tf.Tensor1D) : plainTokenNll(logits, targets, vocabSize);
  if (!weights) return tf.mean(nll);
  const w = tf.reshape(weights, [n]); // [N]
  return tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(tf.sum(w), 1e-9)) as tf.Scalar;
}

/** −log softmax(logits)[target] per row [N] in plain tfjs ops. */
function plainTokenNll(logits: tf.Tensor2D, targets: tf.Tensor, vocabSize: number): tf.Tensor1D {
  const onehot = oneHotFloat(targets, vocabSize); // [N, V]
  return tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)) as tf.Tensor1D; // [N]
}

/**
 * Integer ids (any shape, N entries) → float32 one-hot rows [N, V]. tfjs-wasm's OneHot ignores a float32 dtype and
 * writes int32 bits, so the one-hot is built as int32 and cast.
 */
function oneHotFloat(ids: tf.Tensor, depth: number): tf.Tensor2D {
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

// ---------------------------------------------------------------------------------------------------------------
// Generate

/** Autoregressive sampling from a trained model: temperature sampling over the last position's logits. */
export function sampleTokens(model: TransformerLM, prompt: number[], length: number, opts: { seed: number; temperature?: number }): number[] {
  const rng = new Rng(opts.seed);
  const temperature = opts.temperature ?? 1;
  const T = model.dims.contextLength;
  const tokens = prompt.length > 0 ? [...prompt] : [0];
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const context = tokens.slice(-T);
    const probs = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d([context], [1, context.length], "int32")); // [t, V]
      const last = tf.slice(logits, [context.length - 1, 0], [1, model.dims.vocabSize]); // [1, V]
      return tf.softmax(tf.div(last, temperature)).dataSync() as Float32Array;
    });
    let u = rng.next();
    let next = probs.length - 1;
    for (let v = 0; v < probs.length; v++) {
      u -= probs[v]!;
      if (u <= 0) {
        next = v;
        break;
      }
    }
    tokens.push(next);
    out.push(next);
  }
  return out;
}
