/**
 * REINFORCE with an LSTM controller (Zoph & Le 2017, "Neural Architecture Search with Reinforcement Learning").
 *
 * The controller (src/models/controller/) emits an architecture decision by decision through `space.build`, one
 * softmax head per decision of the space (per item position for repeated decisions) and an embedding of each
 * choice as the next step's input. Every `batchSize` finished trials it takes one policy-gradient step with Adam:
 *   loss = −mean_b(A_b · log π(arch_b)) − entropyWeight · mean_b(H(π | arch_b)),
 *   A_b = (score_b − baseline) / σ,
 * where the baseline is an exponential moving average of the scores (decay `baselineDecay`) and σ a moving
 * standard deviation of score − baseline. Dividing by σ is our addition to the paper: it makes the same learning
 * rate work for any objective's scale (an accuracy in %, a negative loss in nats).
 *
 * Asynchrony: results come in completion order; they are queued and used in that order, a batch at a time, so an
 * architecture sampled from an older policy may be used with a newer one (as with the paper's parallel workers).
 * Failed trials (score null) are not used: a failure says nothing about the objective. Pruned trials are used
 * with the score they reached.
 *
 * Determinism: weights are initialised and sampled with the strategy's own seeded Rng (never tf.random); the
 * weights and Adam's moments are in `state()` bit for bit, so a restored strategy continues identically.
 *
 * Duplicates: a sample already proposed in this search is redrawn up to `maxDuplicateTries` times; after that the
 * nearest new architecture found by a random walk of one-decision mutations from it is proposed instead (the policy
 * has converged there; its neighbourhood holds the useful next trials), and only if none is found the duplicate.
 */
import { z } from "zod";
import type { ReinforceOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { LstmController, sampleIndex, type Episode } from "../models/controller/lstm-controller.js";
import { initBackend } from "../models/backend.js";
import { architectureSchema, type Architecture } from "../spaces/definition.js";
import { decisionSlots } from "./decision-slots.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";

type Options = ReinforceOptions;

const stateSchema = z.object({
  rng: rngStateSchema,
  seen: z.array(z.string()),
  /** The controller's weights and Adam's moments, as base64 float arrays (lstm-controller.ts). */
  controller: z.object({
    hiddenSize: z.number().int(),
    heads: z.array(z.number().int()),
    params: z.array(z.string()),
    adam: z.object({ step: z.number().int(), m: z.array(z.string()), v: z.array(z.string()) }),
  }),
  baseline: z.number().nullable(),
  variance: z.number(),
  /** Results told but not yet used for an update, in the order they arrived. */
  queue: z.array(z.object({ architecture: architectureSchema, score: z.number() })),
  updates: z.number().int().min(0),
});
type ReinforceState = z.infer<typeof stateSchema>;

/** The controller's heads of a space: one per decision, per position for repeated ones (by slot path). */
export const controllerHeads = decisionSlots;

export class ReinforceStrategy implements Strategy {
  private rng: Rng;
  private readonly heads: { index: Map<string, number>; sizes: number[] };
  private readonly controller: LstmController;
  private seen = new Set<string>();
  private baseline: number | null = null;
  private variance = 0;
  private queue: Array<{ architecture: Architecture; score: number }> = [];
  private updates = 0;

  constructor(private readonly args: StrategyArgs<Options>) {
    this.rng = new Rng(args.seed);
    this.heads = controllerHeads(args.space);
    // The initial weights get their own stream, so changing the network's size does not change later draws.
    const init = this.rng.fork();
    this.controller = new LstmController(this.heads.sizes, args.options.hiddenSize, args.options.learningRate, () => init.next());
  }

  async ask(n: number): Promise<Proposal[]> {
    await initBackend();
    const { space, options } = this.args;
    const out: Proposal[] = [];
    while (out.length < n && this.seen.size < space.size()) {
      let arch: Architecture | undefined;
      for (let i = 0; i < options.maxDuplicateTries; i++) {
        const candidate = this.sample();
        if (!space.isValid(candidate)) continue; // the policy knows no constraints: redraw
        arch = candidate;
        if (!this.seen.has(space.hash(candidate))) break;
      }
      let chosen: Architecture = arch ?? space.sample(this.rng);
      // A random walk of one-decision mutations from the duplicate: its near neighbours first, farther ones once
      // those have all been proposed (a converged policy exhausts them quickly).
      let walker = chosen;
      for (let i = 0; i < options.maxDuplicateTries * 20 && this.seen.has(space.hash(chosen)); i++) {
        walker = space.mutate(walker, this.rng).architecture;
        if (!this.seen.has(space.hash(walker))) chosen = walker;
      }
      this.seen.add(space.hash(chosen));
      out.push({ architecture: chosen });
    }
    return out;
  }

  async tell(results: readonly TrialResult[]): Promise<void> {
    for (const r of results) if (r.score !== null && Number.isFinite(r.score)) this.queue.push({ architecture: r.architecture, score: r.score });
    const { batchSize } = this.args.options;
    if (this.queue.length < batchSize) return;
    await initBackend();
    while (this.queue.length >= batchSize) this.train(this.queue.splice(0, batchSize));
  }

  state(): JsonValue {
    const s: ReinforceState = {
      rng: this.rng.state(),
      seen: [...this.seen],
      controller: this.controller.toJSON(),
      baseline: this.baseline,
      variance: this.variance,
      queue: this.queue,
      updates: this.updates,
    };
    return s as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "reinforce strategy");
    this.rng = new Rng(s.rng);
    this.seen = new Set(s.seen);
    this.controller.loadJSON(s.controller);
    this.baseline = s.baseline;
    this.variance = s.variance;
    this.queue = s.queue.map((q) => ({ ...q }));
    this.updates = s.updates;
  }

  /** Probabilities of the options of the first decision (for tests and monitoring). */
  firstDecisionProbabilities(): number[] {
    return this.controller.probabilities({ heads: [], choices: [] }, 0);
  }

  /** One architecture drawn from the policy with the strategy's Rng. */
  private sample(): Architecture {
    const session = this.controller.session();
    try {
      return this.args.space.build((slot) => {
        const k = this.head(slot.path, slot.options.length);
        return slot.options[session.step(k, (p) => sampleIndex(p, this.rng.next()))]!;
      });
    } finally {
      session.dispose();
    }
  }

  private head(path: string, optionCount: number): number {
    const k = this.heads.index.get(path);
    if (k === undefined || this.heads.sizes[k] !== optionCount) throw new Error(`reinforce: no controller head for decision '${path}'`);
    return k;
  }

  /** One policy-gradient step on a batch of results, then the baseline moves towards their scores. */
  private train(batch: Array<{ architecture: Architecture; score: number }>): void {
    const { baselineDecay, entropyWeight } = this.args.options;
    if (this.baseline === null) {
      // Start the baseline at the first batch's mean, not at 0: otherwise the first update only says "more of this".
      this.baseline = batch.reduce((s, b) => s + b.score, 0) / batch.length;
      this.variance = batch.reduce((s, b) => s + (b.score - this.baseline!) ** 2, 0) / batch.length;
    }
    const sigma = Math.sqrt(this.variance) || 1;
    const episodes: Episode[] = batch.map(({ architecture, score }) => {
      const slots = this.args.space.slots(architecture);
      return {
        heads: slots.map((s) => this.head(s.path, s.options.length)),
        choices: slots.map((s) => s.options.indexOf(s.value)),
        advantage: (score - this.baseline!) / sigma,
      };
    });
    this.controller.update(episodes, entropyWeight);
    for (const { score } of batch) {
      const diff = score - this.baseline;
      this.baseline += (1 - baselineDecay) * diff;
      this.variance = baselineDecay * this.variance + (1 - baselineDecay) * diff * diff;
    }
    this.updates++;
  }
}
