/**
 * The REINFORCE controller's policy (Zoph & Le 2017, "Neural Architecture Search with Reinforcement Learning"):
 * a one-layer LSTM that emits an architecture's decisions one by one. Each decision ("head") has its own softmax
 * over its options and its own embedding of the chosen option, which is the LSTM's input at the next step, so a
 * choice conditions every later one; a learned vector is the input of the first step.
 *
 * It knows nothing about search spaces: a policy is over a fixed list of heads (their option counts), and the
 * caller says which head comes next, so spaces whose later decisions depend on earlier ones (repeats, `when`)
 * work too. Sampling takes a `pick` callback so that the caller's seeded RNG, not tf.random, makes the draws.
 *
 * Parameters live in plain Float32Arrays (tensors are made per call and disposed), so the whole policy and its
 * Adam state are exact JSON (`toJSON`/`fromJSON`), and training is deterministic for a given initialisation.
 *
 * Shapes: B episodes in a batch, H = hiddenSize (also the embedding size), n_k options of head k.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Adam } from "./adam.js";
import { decodeFloat32, decodeFloat64, encodeFloats } from "./encoding.js";

/** One sampled architecture as the controller saw it, with its advantage (reward − baseline, normalised). */
export interface Episode {
  /** Head index of each step. */
  heads: number[];
  /** Chosen option index at each step. */
  choices: number[];
  advantage: number;
}

export interface ControllerJSON {
  hiddenSize: number;
  heads: number[];
  params: string[];
  adam: { step: number; m: string[]; v: string[] };
}

/** A uniform random source in [0, 1), e.g. `() => rng.next()` of the strategy's seeded Rng. */
export type Uniform = () => number;

export class LstmController {
  /** start [1,H], lstmW [2H,4H], lstmB [4H], then per head k: emb_k [n_k,H], outW_k [H,n_k], outB_k [n_k]. */
  readonly params: Float32Array[];
  readonly shapes: number[][];
  private adam: Adam;

  /**
   * @param heads option count of every head (≥ 1 each)
   * @param init uniform source for the initial weights, U(−0.1, 0.1) as in Zoph & Le
   */
  constructor(
    readonly heads: readonly number[],
    readonly hiddenSize: number,
    learningRate: number,
    init: Uniform,
  ) {
    const H = hiddenSize;
    this.shapes = [[1, H], [2 * H, 4 * H], [4 * H]];
    for (const n of heads) this.shapes.push([n, H], [H, n], [n]);
    this.params = this.shapes.map((shape, i) => {
      const p = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let j = 0; j < p.length; j++) p[j] = (init() * 2 - 1) * 0.1;
      // Forget-gate bias 1 (Jozefowicz et al. 2015): remember by default.
      if (i === 2) p.fill(1, H, 2 * H);
      return p;
    });
    this.adam = new Adam({ learningRate }, this.params.map((p) => p.length));
  }

  /** Starts sampling one episode; the caller says which head comes at each step (see ControllerSession). */
  session(): ControllerSession {
    return new ControllerSession(this);
  }

  /**
   * The REINFORCE gradient step on a batch: minimises −mean_b(A_b · Σ_t log π(a_bt)) − entropyWeight ·
   * mean_b(Σ_t H(π_bt)), with Adam. Returns the loss and the mean entropy per step (for monitoring).
   */
  update(episodes: readonly Episode[], entropyWeight: number): { loss: number; entropy: number } {
    if (episodes.length === 0) return { loss: 0, entropy: 0 };
    const used = this.usedParams(episodes);
    const steps = episodes.reduce((n, e) => n + e.heads.length, 0);
    let entropyValue = 0;
    const { value, grads } = tf.tidy(() => {
      const tensors = this.params.map((p, i) => tf.tensor(p, this.shapes[i]));
      const f = (...xs: tf.Tensor[]) => {
        const all = [...tensors];
        used.forEach((idx, j) => (all[idx] = xs[j]!));
        const { logProb, entropy } = this.forwardBatch(all, episodes);
        entropyValue = entropy.dataSync()[0]! / steps;
        return tf.div(tf.neg(tf.add(logProb, tf.mul(entropyWeight, entropy))), episodes.length) as tf.Scalar;
      };
      return tf.valueAndGrads(f)(used.map((i) => tensors[i]!));
    });
    const gradArrays = this.params.map((p) => new Float32Array(p.length));
    used.forEach((idx, j) => gradArrays[idx]!.set(grads[j]!.dataSync()));
    const loss = value.dataSync()[0]!;
    value.dispose();
    grads.forEach((g) => g.dispose());
    this.adam.apply(this.params, gradArrays);
    return { loss, entropy: entropyValue };
  }

  /** Probabilities of each option of `head` after the choices of `prefix` (for tests and monitoring). */
  probabilities(prefix: { heads: number[]; choices: number[] }, head: number): number[] {
    const s = this.session();
    try {
      prefix.heads.forEach((h, t) => s.step(h, () => prefix.choices[t]!));
      let probs: number[] = [];
      s.step(head, (p) => {
        probs = [...p];
        return 0;
      });
      return probs;
    } finally {
      s.dispose();
    }
  }

  toJSON(): ControllerJSON {
    const a = this.adam.state;
    return {
      hiddenSize: this.hiddenSize,
      heads: [...this.heads],
      params: this.params.map(encodeFloats),
      adam: { step: a.step, m: a.m.map(encodeFloats), v: a.v.map(encodeFloats) },
    };
  }

  /** Loads weights and optimizer state saved by `toJSON` of a controller with the same heads and size. */
  loadJSON(json: ControllerJSON): void {
    if (json.hiddenSize !== this.hiddenSize || json.heads.join() !== this.heads.join()) {
      throw new Error(`controller: stored weights are for heads [${json.heads.join()}] × ${json.hiddenSize}, not [${this.heads.join()}] × ${this.hiddenSize}`);
    }
    json.params.forEach((s, i) => this.params[i]!.set(decodeFloat32(s)));
    this.adam.state = { step: json.adam.step, m: json.adam.m.map(decodeFloat64), v: json.adam.v.map(decodeFloat64) };
  }

  /** Indices of the parameters a batch touches (tfjs cannot differentiate with respect to unused inputs). */
  private usedParams(episodes: readonly Episode[]): number[] {
    const headsUsed = new Set(episodes.flatMap((e) => e.heads));
    const out = [0, 1, 2];
    for (const k of [...headsUsed].sort((a, b) => a - b)) {
      const base = 3 + 3 * k;
      // The last step's embedding feeds nothing, so it is used only if the head appears before another step.
      const embUsed = episodes.some((e) => e.heads.slice(0, -1).includes(k));
      if (embUsed) out.push(base);
      out.push(base + 1, base + 2);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Σ over the batch of A_b · Σ_t log π(a_bt), and Σ over batch and steps of the entropy. Episodes with the same
   * head sequence (all of them, in a space without conditional decisions) run as one batch.
   */
  private forwardBatch(p: tf.Tensor[], episodes: readonly Episode[]): { logProb: tf.Scalar; entropy: tf.Scalar } {
    const groups = new Map<string, Episode[]>();
    for (const e of episodes) {
      const key = e.heads.join(",");
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    let logProb: tf.Tensor = tf.scalar(0);
    let entropy: tf.Tensor = tf.scalar(0);
    for (const group of groups.values()) {
      const B = group.length;
      const advantage = tf.tensor1d(group.map((e) => e.advantage)); // [B]
      let x: tf.Tensor = tf.tile(p[0]!, [B, 1]); // [B,H]
      let h: tf.Tensor = tf.zeros([B, this.hiddenSize]);
      let c: tf.Tensor = tf.zeros([B, this.hiddenSize]);
      let groupLogProb: tf.Tensor = tf.zeros([B]);
      const heads = group[0]!.heads;
      heads.forEach((k, t) => {
        [h, c] = lstmCell(x, h, c, p[1]!, p[2]!, this.hiddenSize);
        const logits = tf.add(tf.matMul(h, p[4 + 3 * k]!), p[5 + 3 * k]!); // [B,n_k]
        const logp = tf.logSoftmax(logits); // [B,n_k]
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(group.map((e) => e.choices[t]!), "int32"), this.heads[k]!), "float32"); // [B,n_k]
        groupLogProb = tf.add(groupLogProb, tf.sum(tf.mul(onehot, logp), 1));
        entropy = tf.sub(entropy, tf.sum(tf.mul(tf.exp(logp), logp)));
        if (t < heads.length - 1) x = tf.matMul(onehot, p[3 + 3 * k]!); // embedding of the choice, [B,H]
      });
      logProb = tf.add(logProb, tf.sum(tf.mul(advantage, groupLogProb)));
    }
    return { logProb: logProb as tf.Scalar, entropy: entropy as tf.Scalar };
  }
}

/** One LSTM step: x [B,H], h [B,H], c [B,H], W [2H,4H], b [4H] → (h', c'). Gate order i, f, g, o. */
function lstmCell(x: tf.Tensor, h: tf.Tensor, c: tf.Tensor, W: tf.Tensor, b: tf.Tensor, H: number): [tf.Tensor, tf.Tensor] {
  const z = tf.add(tf.matMul(tf.concat([x, h], 1), W), b); // [B,4H]
  const [i, f, g, o] = tf.split(z, [H, H, H, H], 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
  const h2 = tf.mul(tf.sigmoid(o), tf.tanh(c2));
  return [h2, c2];
}

/** Step-by-step sampling of one episode; call `dispose()` at the end. */
export class ControllerSession {
  private readonly tensors: tf.Tensor[];
  private x: tf.Tensor;
  private h: tf.Tensor;
  private c: tf.Tensor;

  constructor(private readonly controller: LstmController) {
    const H = controller.hiddenSize;
    this.tensors = controller.params.map((p, i) => tf.tensor(p, controller.shapes[i]));
    this.x = this.tensors[0]!;
    this.h = tf.zeros([1, H]);
    this.c = tf.zeros([1, H]);
  }

  /** Runs one step for head `k`; `pick` gets the option probabilities and returns the chosen index. */
  step(k: number, pick: (probs: Float32Array) => number): number {
    const t = this.tensors;
    const [h, c, probs] = tf.tidy(() => {
      const [h2, c2] = lstmCell(this.x, this.h, this.c, t[1]!, t[2]!, this.controller.hiddenSize);
      return [h2, c2, tf.softmax(tf.add(tf.matMul(h2, t[4 + 3 * k]!), t[5 + 3 * k]!))];
    });
    const p = probs.dataSync() as Float32Array;
    probs.dispose();
    const choice = pick(p);
    if (!(choice >= 0 && choice < this.controller.heads[k]!)) throw new RangeError(`controller: choice ${choice} out of range for head ${k}`);
    if (this.x !== t[0]) this.x.dispose();
    this.h.dispose();
    this.c.dispose();
    this.h = h;
    this.c = c;
    this.x = tf.tidy(() => tf.slice(t[3 + 3 * k]!, [choice, 0], [1, this.controller.hiddenSize]));
    return choice;
  }

  dispose(): void {
    if (this.x !== this.tensors[0]) this.x.dispose();
    this.h.dispose();
    this.c.dispose();
    this.tensors.forEach((t) => t.dispose());
  }
}

/** Draws an index from `probs` with one uniform number (inverse CDF), so the caller's RNG decides. */
export function sampleIndex(probs: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i]!;
  let acc = 0;
  const target = u * total;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i]!;
    if (target < acc) return i;
  }
  return probs.length - 1;
}
