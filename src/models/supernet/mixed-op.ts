/**
 * The continuous relaxation of one categorical decision (Liu et al. 2019, "DARTS", eq. 1/2):
 *   ō(x) = Σ_i softmax(α)_i · o_i(x)
 * over the candidate operations o_i of the decision, every candidate computed and kept with its own weights. The
 * architecture parameters α (one logit per candidate) are a trainable tf.Variable of their own, kept apart from
 * the weights of the candidates, so that the bi-level optimisation (bilevel.ts) can update the two separately.
 *
 * A MixedOp is itself a SequenceOp, so it takes the place of an attention or feed-forward op in a Transformer
 * block (block.ts) without that block knowing. The `none` candidate (ops.ts) contributes zero, so with the
 * block's residual it means "this layer has no such sub-layer".
 *
 * DARTS− (Chu et al. 2021, "DARTS-: Robustly Stepping out of Performance Collapse Without Indicators") adds an
 * auxiliary skip β·x to the mixture, with β decayed to 0 during the search: it gives the supernet the easy gradient
 * path that otherwise makes parameter-free candidates win early, so α can judge the candidates on their merit.
 * `auxSkip` is that β (0, the default, leaves the plain DARTS mixture).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { SequenceContext, SequenceOp } from "../transformer/index.js";

/** Name of the parameter-free candidate of a decision (DARTS+ counts how many decisions select it). */
export const NONE = "none";

let counter = 0;

/** A fresh architecture-parameter vector α [K], all zero (uniform softmax, as in the paper's initialisation up to 1e-3 noise). */
export function alphaVariable(path: string, size: number, init?: readonly number[]): tf.Variable {
  const values = init ? Float32Array.from(init) : new Float32Array(size);
  if (values.length !== size) throw new RangeError(`α of ${path} needs ${size} values, got ${values.length}`);
  const t = tf.tensor1d(values);
  // tfjs variable names are global to the engine: keep them unique per process.
  const v = tf.variable(t, true, `alpha_${path.replace(/[^A-Za-z0-9_]/g, "_")}_${(counter++).toString(36)}`);
  t.dispose();
  return v;
}

export class MixedOp implements SequenceOp {
  readonly kind: string;
  /** α [K], one logit per candidate, in the order of `options`. */
  readonly alpha: tf.Variable;
  /** Weight of the DARTS− auxiliary skip connection (β·x added to the mixture); 0 = off. */
  auxSkip = 0;

  /**
   * `path` names the decision (e.g. `layers[0].attention`), `options` the candidates' names (e.g. "full",
   * "none"), `ops` the candidates in the same order. α starts at `init` (default all zero: uniform mixture).
   */
  constructor(
    readonly path: string,
    readonly options: readonly string[],
    readonly ops: readonly SequenceOp[],
    init?: readonly number[],
  ) {
    if (options.length !== ops.length || options.length === 0) throw new RangeError(`mixed op ${path}: ${options.length} options for ${ops.length} ops`);
    if (new Set(options).size !== options.length) throw new RangeError(`mixed op ${path}: duplicate options`);
    this.kind = `mixed:${path}`;
    this.alpha = alphaVariable(path, options.length, init);
  }

  /** softmax(α) [K]: the mixing weights. Differentiable in α. */
  weights(): tf.Tensor1D {
    return tf.softmax(this.alpha as tf.Tensor1D);
  }

  /** x: [B·T, d] → Σ_i softmax(α)_i · op_i(x) (+ β·x with DARTS−): [B·T, d]. */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const w = this.weights(); // [K]
    const terms = this.ops.map((op, i) => {
      const wi = tf.slice(w, [i], [1]); // [1], broadcast over [B·T, d]
      return op.kind === NONE ? null : (tf.mul(op.apply(x, ctx), wi) as tf.Tensor2D);
    });
    // `none` contributes w_none · 0: leave it out of the sum (its α still gets a gradient through the softmax).
    const live = terms.filter((t): t is tf.Tensor2D => t !== null);
    if (this.auxSkip !== 0) live.push(tf.mul(x, this.auxSkip) as tf.Tensor2D);
    if (live.length === 0) return tf.zerosLike(x);
    return (live.length === 1 ? live[0]! : tf.addN(live)) as tf.Tensor2D;
  }

  /** softmax(α) on the host, option → weight. */
  probabilities(): Record<string, number> {
    const p = tf.tidy(() => this.weights().dataSync());
    return Object.fromEntries(this.options.map((o, i) => [o, p[i]!]));
  }

  /** Sets α (e.g. one-hot logits for a test, or a restored state). */
  setAlpha(values: readonly number[]): void {
    if (values.length !== this.options.length) throw new RangeError(`α of ${this.path} needs ${this.options.length} values`);
    const t = tf.tensor1d(Float32Array.from(values));
    this.alpha.assign(t);
    t.dispose();
  }

  /** Makes the mixture exactly one candidate: logit 0 for `option`, −1e9 for the others (softmax gives exact 1 and 0). */
  fixTo(option: string): void {
    const k = this.options.indexOf(option);
    if (k < 0) throw new RangeError(`${option} is not a candidate of ${this.path} (${this.options.join(", ")})`);
    this.setAlpha(this.options.map((_, i) => (i === k ? 0 : -1e9)));
  }

  dispose(): void {
    this.alpha.dispose();
  }
}
