/**
 * The DARTS supernet of the `transformer` family (Liu et al. 2019, §2.2, applied to the decisions of
 * search-spaces/transformer-lm.json): the layout of TransformerLM (model.ts: embedding, positions, n_layers
 * pre-/post-norm blocks, final norm, tied head) with every layer's two interchangeable sub-layers replaced by
 * mixed operations (mixed-op.ts):
 *   layers[i].attention  ō = Σ softmax(α)_k · attn_k(x)   over the space's attention kinds, plus `none`
 *                        (the layer drops attention: its residual branch contributes zero);
 *   layers[i].activation ō = Σ softmax(α)_k · ffn_k(x)    over the space's feed-forward activations.
 * Every candidate has its own weights (no sharing), as in the paper's mixed edges.
 *
 * Decisions that cannot be relaxed into a mixture (depth, width, heads, feed-forward multiplier, positions, norm,
 * dropout) are fixed by the base architecture. A local or strided candidate uses one window or stride, fixed by
 * the options (the sub-decision is not searched by the supernet).
 *
 * The weights (`weightVariables`) and the architecture parameters (`alphaVariables`) are separate lists: the
 * bi-level optimiser (bilevel.ts) trains the former on training batches and the latter on validation batches.
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  ACTIVATIONS,
  ATTENTION_KINDS,
  parseArchitecture,
  type Activation,
  type AttentionKind,
  type LayerSpec,
  type ModelDims,
  type TransformerArchitecture,
} from "../transformer/index.js";
import { SoftmaxAttention } from "../transformer/index.js";
import { TransformerBlock } from "../transformer/index.js";
import { ConstantCache } from "../transformer/index.js";
import { FeedForward } from "../transformer/index.js";
import { LinearAttention } from "../transformer/index.js";
import { crossEntropy, languageModelForward, type ForwardOptions } from "../transformer/index.js";
import { makeNorm, type Norm } from "../transformer/index.js";
import { noneOp, type SequenceOp } from "../transformer/index.js";
import { ParamStore } from "../transformer/index.js";
import { MixedOp, NONE } from "./mixed-op.js";

export type AttentionCandidate = AttentionKind | typeof NONE;

export interface TransformerSupernetOptions {
  /** Attention candidates of every layer, `none` included where layers may drop attention. Default: all kinds + none. */
  attention?: readonly AttentionCandidate[];
  /** Feed-forward activations of every layer. Default: all six. */
  activation?: readonly Activation[];
  /** Window of the `local` candidate (default 16). */
  window?: number;
  /** Stride of the `strided` candidate (default 8). */
  stride?: number;
}

/** One relaxed decision of the supernet: its path in the architecture JSON and its candidates. */
export interface RelaxedDecision {
  path: string;
  options: readonly string[];
  /** Candidates without parameters (DARTS+ counts decisions whose argmax is one of them). */
  parameterFree: readonly string[];
}

export class TransformerSupernet {
  readonly base: TransformerArchitecture;
  readonly dims: ModelDims;
  readonly params: ParamStore;
  readonly window: number;
  readonly stride: number;
  /** Per layer: the attention mixture and the feed-forward mixture. */
  readonly attention: MixedOp[] = [];
  readonly feedForward: MixedOp[] = [];
  private readonly blocks: TransformerBlock[] = [];
  private readonly embedding: tf.Variable; // [V, d]
  private readonly positionTable?: tf.Variable; // [T_max, d], learned positions only
  private readonly finalNorm?: Norm;
  private readonly constants = new ConstantCache();
  private readonly seed: number;

  /**
   * `base` gives the decisions that are not relaxed; its per-layer attention and activation are ignored (it may
   * omit `layers`). Throws a zod error naming the bad field of the base, or a RangeError for bad candidates.
   */
  constructor(base: unknown, dims: ModelDims, seed: number, opts: TransformerSupernetOptions = {}) {
    const raw = (base ?? {}) as Record<string, unknown>;
    const nLayers = raw.n_layers as number;
    const filler: LayerSpec = { attention: "full", activation: "relu" };
    const arch = parseArchitecture({ ...raw, layers: Number.isInteger(nLayers) && nLayers > 0 ? Array.from({ length: nLayers }, () => filler) : raw.layers });
    this.base = arch;
    this.dims = dims;
    this.seed = seed;
    this.window = opts.window ?? 16;
    this.stride = opts.stride ?? 8;
    const attentionOptions = [...(opts.attention ?? [...ATTENTION_KINDS, NONE])];
    const activationOptions = [...(opts.activation ?? ACTIVATIONS)];
    for (const a of attentionOptions) if (a !== NONE && !(ATTENTION_KINDS as readonly string[]).includes(a)) throw new RangeError(`unknown attention candidate '${a}'`);
    for (const a of activationOptions) if (!(ACTIVATIONS as readonly string[]).includes(a)) throw new RangeError(`unknown activation candidate '${a}'`);
    if (attentionOptions.length === 0 || activationOptions.length === 0) throw new RangeError("a relaxed decision needs at least one candidate");

    const d = arch.d_model;
    this.params = new ParamStore(seed);
    this.embedding = this.params.add("embedding", [dims.vocabSize, d], { kind: "normal", std: 0.02 });
    if (arch.positions === "learned") this.positionTable = this.params.add("positions", [dims.contextLength, d], { kind: "normal", std: 0.02 });
    const sizes = { d, nHeads: arch.n_heads, nLayers: arch.n_layers };
    for (let i = 0; i < arch.n_layers; i++) {
      const name = `layers.${i}`;
      const norm1 = makeNorm(arch.norm, this.params, `${name}.norm1`, d);
      const attnOps = attentionOptions.map((kind): SequenceOp => {
        if (kind === NONE) return noneOp;
        const spec: LayerSpec = { attention: kind, activation: "relu", ...(kind === "local" ? { window: this.window } : {}), ...(kind === "strided" ? { stride: this.stride } : {}) };
        return kind === "linear" ? new LinearAttention(this.params, `${name}.attn.${kind}`, spec, sizes) : new SoftmaxAttention(this.params, `${name}.attn.${kind}`, spec, sizes);
      });
      const norm2 = makeNorm(arch.norm, this.params, `${name}.norm2`, d);
      const ffnOps = activationOptions.map(
        (activation) => new FeedForward(this.params, `${name}.ffn.${activation}`, { d, hidden: arch.ff_mult * d, activation, nLayers: arch.n_layers }),
      );
      const attention = new MixedOp(`layers[${i}].attention`, attentionOptions, attnOps);
      const feedForward = new MixedOp(`layers[${i}].activation`, activationOptions, ffnOps);
      this.attention.push(attention);
      this.feedForward.push(feedForward);
      this.blocks.push(new TransformerBlock(attention, feedForward, norm1, norm2, arch.norm));
    }
    if (arch.norm !== "post_ln") this.finalNorm = makeNorm(arch.norm, this.params, "final_norm", d);
  }

  /** The relaxed decisions, in layer order (attention, then activation, per layer). */
  decisions(): RelaxedDecision[] {
    return this.mixedOps().map((m) => ({ path: m.path, options: m.options, parameterFree: m.options.filter((o) => o === NONE) }));
  }

  mixedOps(): MixedOp[] {
    return this.attention.flatMap((a, i) => [a, this.feedForward[i]!]);
  }

  /** Decision path (e.g. `layers[0].attention`) → option → softmax(α) weight. */
  alphas(): Record<string, Record<string, number>> {
    return Object.fromEntries(this.mixedOps().map((m) => [m.path, m.probabilities()]));
  }

  /** α of every decision on the host (logits), to restore later with `setAlphaState`. */
  alphaState(): Record<string, number[]> {
    return Object.fromEntries(this.mixedOps().map((m) => [m.path, Array.from(m.alpha.dataSync())]));
  }

  setAlphaState(state: Record<string, readonly number[]>): void {
    for (const m of this.mixedOps()) {
      const values = state[m.path];
      if (values) m.setAlpha(values);
    }
  }

  /** The network weights (trained on training batches). */
  weightVariables(): tf.Variable[] {
    return this.params.variables();
  }

  /** The architecture parameters α, one vector per decision (trained on validation batches). */
  alphaVariables(): tf.Variable[] {
    return this.mixedOps().map((m) => m.alpha);
  }

  /** DARTS− auxiliary skip weight β on every decision that has a parameter-free candidate (0 turns it off). */
  setAuxSkip(beta: number): void {
    for (const m of this.mixedOps()) if (m.options.includes(NONE)) m.auxSkip = beta;
  }

  /** Trainable weight scalars (α excluded). */
  parameterCount(): number {
    return this.params.count();
  }

  /** tokens: [B, T] int32 → logits [B·T, V]: TransformerLM's forward pass over the mixed blocks. Call inside a tidy or gradient scope. */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor2D {
    const { dims, embedding, positionTable, blocks, finalNorm, constants, seed } = this;
    return languageModelForward({ arch: this.base, dims, embedding, positionTable, blocks, finalNorm, constants, seed }, tokens, opts);
  }

  /** Mean cross-entropy (nats) of next-token targets [B, T]; `weights` [B, T] select the counted positions. */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D, opts: { training?: boolean; step?: number; weights?: tf.Tensor2D } = {}): tf.Scalar {
    return crossEntropy(this.forward(tokens, opts), targets, this.dims.vocabSize, opts.weights);
  }

  dispose(): void {
    this.params.dispose();
    for (const m of this.mixedOps()) m.dispose();
    this.constants.dispose();
  }
}
