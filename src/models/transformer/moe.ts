/**
 * A mixture-of-experts feed-forward block (Shazeer et al. 2017; Switch Transformer, Fedus et al. 2021; GShard,
 * Lepikhin et al. 2020), a SequenceOp: E experts, each the space's dense feed-forward block (feed-forward.ts, same
 * width and activation), and a learned router W_r [d, E] (no bias, as in Switch) giving every token a probability
 * p = softmax(x·W_r) over the experts. Two routings decide which expert processes which token:
 *
 *   token choice, top-k: each token picks its k most probable experts (k = 1 Switch, k = 2 GShard). An expert has
 *     C = ⌈capacity_factor · k · G / E⌉ slots per group of G tokens; tokens are seated in order of their router
 *     probability (first choices before second choices, as GShard does; within a rank the most confident first:
 *     "batch prioritized routing", Riquelme et al. 2021), and a choice over capacity is dropped: a token that loses
 *     every choice passes through the residual connection only. Output Σ_chosen g_e·FFN_e(x) with g = p (k = 1, as
 *     in Switch: p ≈ 1/E at initialisation starts an expert's output E times smaller than a dense block's, which
 *     measurably slows short trainings, README "bench:moe") or p renormalised over the k chosen (k ≥ 2). The Switch load-balancing loss E · Σ_e f_e · P_e (f_e the share of
 *     choices that went to expert e, P_e its mean probability) is handed to the model (ctx.addLoss), which adds it,
 *     weighted (`moeAuxWeight`, default 0.01), to the training loss.
 *   expert choice (Zhou et al. 2022): each expert takes the c = ⌈G · capacity_factor / E⌉ tokens of the group with
 *     the highest probability for it; a token is processed by any number of experts (none: residual only). Output
 *     Σ_e∋token p_e·FFN_e(x). Balanced by construction: no auxiliary loss.
 *
 * Causality. Both routings let a token's computation depend on the other tokens of its group (competition for
 * slots), so the group must not hold a later position of the token's own sequence: with groups over a whole
 * sequence, an expert choosing "its best tokens" would read the future, and the language model would learn to use
 * it. The groups here are the B tokens of the batch at the SAME position t (GShard's dispatch groups, taken along
 * the batch axis): a token's output depends on its own sequence up to t and on the other sequences' tokens up to t,
 * never on a later position. tests/unit/moe.test.ts checks that a token's output does not change when
 * every later token of the batch changes, for both routings. The price, stated honestly: a token's output depends
 * on its batch-mates at positions ≤ t (as in every batch-routed MoE, e.g. Switch), so one sequence scored alone is
 * routed differently from the same sequence in a batch; generating one sequence at a time gives groups of one
 * token, where expert choice (c = 1) runs the token through every expert and token choice always seats it.
 *
 * Sparse computation: routing is decided on the host from the router probabilities (a [N, E] download; the choice
 * is discrete and has no gradient), each expert runs on only its tokens' rows (a gather), and the results are
 * scattered back, weighted by the differentiable gate. tf.gather's gradient needs UnsortedSegmentSum, which
 * tfjs-wasm lacks, so `gatherRows` and `scatterRows` carry their own gradients (each other: a scatter-add and a
 * gather, both kernels wasm has).
 *
 * Shapes: B sequences, T positions, N = B·T tokens (rows sequence-major: token n = b·T + t), d = d_model, E experts,
 * c_e the tokens expert e processes, S = Σ_e c_e the token–expert pairs.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Activation } from "./config.js";
import { FeedForward } from "./feed-forward.js";
import type { ParamStore, SequenceContext, SequenceOp } from "./nn.js";

/** tf.customGrad's parameter type (its inputs are typed as Tensor | GradSaveFunc, which no real function matches). */
type CustomGradient = Parameters<typeof tf.customGrad>[0];

export type MoeRouting = "token-choice" | "expert-choice";

// ---------------------------------------------------------------------------------------------------------------
// Routing (host side: which tokens each expert processes)

/** Which tokens each expert processes, decided from the router probabilities of one forward pass. */
export interface Routing {
  /** Per expert, the token rows (n = b·T + t) it processes, ascending. */
  tokens: Int32Array[];
  /** Tokens no expert processes: they pass through the residual connection only. */
  dropped: number;
  /** Token choice: [N·E] 0/1, the k experts each token chose before capacity was applied (gates, auxiliary loss). */
  chosen?: Float32Array;
}

/** Slots of one expert in a group of G tokens: ⌈capacityFactor · slotsPerToken · G / E⌉, at least 1, at most G. */
export function expertCapacity(groupSize: number, experts: number, slotsPerToken: number, capacityFactor: number): number {
  // The small epsilon keeps ⌈12 · 1.25 / 5⌉-style products that are integers in exact arithmetic from rounding up.
  return Math.min(groupSize, Math.max(1, Math.ceil((capacityFactor * slotsPerToken * groupSize) / experts - 1e-9)));
}

/** The experts of one token ordered by probability, best first (ties: lower expert index first). */
function rankedExperts(probs: Float32Array, n: number, E: number): number[] {
  return Array.from({ length: E }, (_, e) => e).sort((a, b) => probs[n * E + b]! - probs[n * E + a]! || a - b);
}

/**
 * Token choice, top-k, with groups of the B tokens at each position t. probs: [N·E] row-major (token n = b·T + t).
 * Within a group, first choices are seated before second choices, and within a rank tokens with a higher
 * probability for their choice go first; a choice that finds its expert full is dropped.
 */
export function tokenChoiceRouting(probs: Float32Array, B: number, T: number, E: number, k: number, capacityFactor: number): Routing {
  const N = B * T;
  const capacity = expertCapacity(B, E, k, capacityFactor);
  const chosen = new Float32Array(N * E);
  const ranked = Array.from({ length: N }, (_, n) => rankedExperts(probs, n, E).slice(0, k)); // [N][k]
  for (let n = 0; n < N; n++) for (const e of ranked[n]!) chosen[n * E + e] = 1;
  const lists: number[][] = Array.from({ length: E }, () => []);
  const seated = new Uint8Array(N); // tokens that got at least one expert
  for (let t = 0; t < T; t++) {
    const used = new Int32Array(E); // slots taken in this group
    for (let r = 0; r < k; r++) {
      const group = Array.from({ length: B }, (_, b) => b * T + t);
      group.sort((a, b) => probs[b * E + ranked[b]![r]!]! - probs[a * E + ranked[a]![r]!]! || a - b);
      for (const n of group) {
        const e = ranked[n]![r]!;
        if (used[e]! >= capacity) continue; // over capacity: this choice is dropped
        used[e]! += 1;
        lists[e]!.push(n);
        seated[n] = 1;
      }
    }
  }
  let dropped = 0;
  for (let n = 0; n < N; n++) if (!seated[n]) dropped++;
  return { tokens: lists.map((l) => Int32Array.from(l.sort((a, b) => a - b))), dropped, chosen };
}

/**
 * Expert choice (Zhou et al. 2022) with groups of the B tokens at each position t: each expert takes the c tokens
 * of the group with the highest probability for it (ties: lower row first). probs: [N·E] row-major.
 */
export function expertChoiceRouting(probs: Float32Array, B: number, T: number, E: number, capacityFactor: number): Routing {
  const N = B * T;
  const c = expertCapacity(B, E, 1, capacityFactor);
  const lists: number[][] = Array.from({ length: E }, () => []);
  const seated = new Uint8Array(N);
  for (let t = 0; t < T; t++) {
    const group = Array.from({ length: B }, (_, b) => b * T + t);
    for (let e = 0; e < E; e++) {
      const best = [...group].sort((a, b) => probs[b * E + e]! - probs[a * E + e]! || a - b).slice(0, c);
      for (const n of best) {
        lists[e]!.push(n);
        seated[n] = 1;
      }
    }
  }
  let dropped = 0;
  for (let n = 0; n < N; n++) if (!seated[n]) dropped++;
  return { tokens: lists.map((l) => Int32Array.from(l.sort((a, b) => a - b))), dropped };
}

// ---------------------------------------------------------------------------------------------------------------
// Moving rows to and from the experts, with gradients that tfjs-wasm can run

/** Rows `idx` of x: [N, m] → [c, m]. Gradient: dy scattered back (added) to those rows, zeros elsewhere. */
export function gatherRows(x: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const [n, m] = x.shape;
  const c = idx.shape[0];
  const op = tf.customGrad(((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx]);
    return {
      value: tf.gather(xx, idx), // [c, m]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.reshape(saved[0]!, [c, 1]), dy, [n, m]), // [N, m]
    };
  }) as unknown as CustomGradient);
  return op(x) as tf.Tensor2D;
}

/** values [c, m] added into rows `idx` of an [n, m] zero matrix (repeated rows add up). Gradient: dy's rows `idx`. */
export function scatterRows(values: tf.Tensor2D, idx: tf.Tensor1D, n: number): tf.Tensor2D {
  const [c, m] = values.shape;
  const op = tf.customGrad(((vv: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx]);
    return {
      value: tf.scatterND(tf.reshape(idx, [c, 1]), vv, [n, m]), // [n, m]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.gather(dy, saved[0]!), // [c, m]
    };
  }) as unknown as CustomGradient);
  return op(values) as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Tokens seen, tokens dropped and tokens each expert processed, summed over the forward passes since reset(). */
export class RoutingStats {
  tokens = 0;
  dropped = 0;
  readonly processed: Float64Array;

  constructor(readonly experts: number) {
    this.processed = new Float64Array(experts);
  }

  record(routing: Routing, tokens: number): void {
    this.tokens += tokens;
    this.dropped += routing.dropped;
    routing.tokens.forEach((rows, e) => (this.processed[e]! += rows.length));
  }

  /** Each expert's share of the token–expert pairs processed (sums to 1; 1/E each when balanced). */
  load(): number[] {
    const total = this.processed.reduce((a, b) => a + b, 0);
    return Array.from(this.processed, (p) => (total > 0 ? p / total : 0));
  }

  reset(): void {
    this.tokens = 0;
    this.dropped = 0;
    this.processed.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The block

export interface MixtureOfExpertsOptions {
  d: number;
  /** Hidden width of each expert (ff_mult · d). */
  hidden: number;
  activation: Activation;
  nLayers: number;
  routing: MoeRouting;
  experts: number;
  /** Token choice: experts per token. */
  topK: number;
  capacityFactor: number;
}

export class MixtureOfExperts implements SequenceOp {
  readonly kind: string;
  readonly experts: FeedForward[];
  readonly stats: RoutingStats;
  /** The routing of the last forward pass (tests, diagnostics). */
  lastRouting?: Routing;
  private readonly router: tf.Variable; // [d, E]

  constructor(
    params: ParamStore,
    name: string,
    private readonly opts: MixtureOfExpertsOptions,
  ) {
    const { d, hidden, activation, nLayers, routing, experts: E, topK, capacityFactor } = opts;
    this.kind = routing === "token-choice" ? `moe:token-choice:e${E}:k${topK}:c${capacityFactor}` : `moe:expert-choice:e${E}:c${capacityFactor}`;
    this.router = params.add(`${name}.router.w`, [d, E], { kind: "normal", std: 0.02 });
    this.experts = Array.from({ length: E }, (_, e) => new FeedForward(params, `${name}.experts.${e}`, { d, hidden, activation, nLayers }));
    this.stats = new RoutingStats(E);
  }

  /** x: [B·T, d] → [B·T, d]; a token no expert took gets 0 (the block's residual carries it). */
  apply(x: tf.Tensor2D, ctx: SequenceContext): tf.Tensor2D {
    const { batch: B, seqLen: T } = ctx;
    const N = B * T;
    const probs = tf.softmax(tf.matMul(x, this.router as tf.Tensor2D)) as tf.Tensor2D; // [N, E] router probabilities
    const routing = this.route(probs.dataSync() as Float32Array, B, T); // host: the tokens of every expert
    this.lastRouting = routing;
    if (!ctx.recomputing) this.stats.record(routing, N);
    const gates = this.gates(probs, routing); // [N, E], differentiable

    const outputs: tf.Tensor2D[] = [];
    const rows: number[] = [];
    this.experts.forEach((expert, e) => {
      const tokens = routing.tokens[e]!;
      const gate = tf.slice(gates, [0, e], [N, 1]); // [N, 1]
      if (tokens.length === 0) {
        // An expert without tokens still runs on one row with weight 0: its parameters then get a (zero)
        // gradient, which the optimizer expects for every variable.
        const idx = tf.tensor1d([0], "int32");
        outputs.push(tf.mul(expert.apply(gatherRows(x, idx), ctx), 0)); // [1, d] of zeros
        rows.push(0);
        return;
      }
      const idx = tf.tensor1d(tokens, "int32"); // [c_e]
      const xe = gatherRows(x, idx); // [c_e, d]
      outputs.push(tf.mul(expert.apply(xe, ctx), gatherRows(gate, idx)) as tf.Tensor2D); // [c_e, d] ⊙ [c_e, 1]
      for (const n of tokens) rows.push(n);
    });
    const y = scatterRows(tf.concat(outputs, 0), tf.tensor1d(rows, "int32"), N); // [S, d] → [N, d], a token's experts summed

    if (ctx.addLoss && routing.chosen) ctx.addLoss(loadBalancingLoss(probs, routing.chosen, this.opts.topK));
    return y;
  }

  private route(probs: Float32Array, B: number, T: number): Routing {
    const { routing, experts, topK, capacityFactor } = this.opts;
    return routing === "token-choice" ? tokenChoiceRouting(probs, B, T, experts, topK, capacityFactor) : expertChoiceRouting(probs, B, T, experts, capacityFactor);
  }

  /** Combine weights [N, E]: p itself (Switch k = 1, expert choice), or p renormalised over each token's k choices. */
  private gates(probs: tf.Tensor2D, routing: Routing): tf.Tensor2D {
    if (this.opts.routing === "expert-choice" || this.opts.topK === 1) return probs;
    const [N, E] = probs.shape;
    const masked = tf.mul(probs, tf.tensor2d(routing.chosen!, [N, E])); // [N, E], zero outside the top k
    return tf.div(masked, tf.sum(masked, -1, true)) as tf.Tensor2D; // [N, E] / [N, 1]
  }
}

/**
 * Switch Transformer's auxiliary loss (Fedus et al. 2021, eq. 4), E · Σ_e f_e · P_e: f_e the share of the tokens'
 * choices that went to expert e (before capacity; a constant), P_e the mean router probability of e over the
 * batch. It is 1 when both are uniform and grows as the router concentrates on few experts; its gradient reaches
 * the router through P. For k > 1, f counts all k choices (divided by N·k). probs [N, E], chosen [N·E] 0/1.
 */
export function loadBalancingLoss(probs: tf.Tensor2D, chosen: Float32Array, topK: number): tf.Scalar {
  const [N, E] = probs.shape;
  const f = new Float32Array(E);
  for (let n = 0; n < N; n++) for (let e = 0; e < E; e++) f[e]! += chosen[n * E + e]! / (N * topK);
  const P = tf.mean(probs, 0); // [E]
  return tf.mul(tf.sum(tf.mul(tf.tensor1d(f), P)), E) as tf.Scalar;
}
