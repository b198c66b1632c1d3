/**
 * Predictor-guided search: a cheap surrogate of the objective chooses which architectures to train, in the spirit
 * of BANANAS (White et al. 2021) and the predictor studies that found such strategies beat evolution on NAS
 * benchmarks, kept deliberately simple:
 *
 * - Encoding: one-hot of every decision's value (per position for repeated decisions; an inactive decision is all
 *   zeros), plus, with `pairwise`, the products of pairs of those columns, so that two decisions that only matter
 *   together (an operation on one edge and on the next) can be learnt. Used through its kernel (see Encoder).
 * - Surrogate and acquisition: Thompson sampling with the bootstrap: each proposal fits a (kernel) ridge regression
 *   on a fresh bootstrap resample of the results and takes the candidate it predicts best, so that uncertain
 *   regions still get tried and a batch of proposals is diverse.
 * - Candidates: `candidates` architectures not yet proposed: one-decision mutations (and mutations of those) of the
 *   best results so far, and uniform samples.
 * - Until `initialSamples` results have come back, proposals are uniform samples.
 *
 * Failed trials (score null) are not used. The surrogate is refitted at every `ask` from the stored results, so
 * the state is only the results, the proposed set and the RNG.
 */
import { z } from "zod";
import type { PredictorOptions } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { Rng, rngStateSchema } from "../core/rng.js";
import { readState } from "../core/state.js";
import { architectureSchema, type Architecture } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";
import { decisionSlots } from "./decision-slots.js";
import { KernelRidge } from "./ridge.js";
import { sampleUnseen } from "./sample-unseen.js";
import type { Proposal, Strategy, StrategyArgs, TrialResult } from "./strategy.js";

type Options = PredictorOptions;

const scoredSchema = z.object({ trialId: z.string(), architecture: architectureSchema, score: z.number() });
type Scored = z.infer<typeof scoredSchema>;

const stateSchema = z.object({ rng: rngStateSchema, seen: z.array(z.string()), results: z.array(scoredSchema) });
type PredictorState = z.infer<typeof stateSchema>;

/**
 * The encoding as a kernel: an architecture is the sorted list of its one-hot columns ("codes"), and the dot
 * product of two encodings is c (shared decision values) plus, with `pairwise`, c·(c−1)/2 (shared pairs of them).
 */
export class Encoder {
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly space: SearchSpace,
    private readonly pairwise: boolean,
  ) {
    const { index, sizes } = decisionSlots(space);
    let offset = 0;
    for (const [path, k] of index) {
      this.offsets.set(path, offset);
      offset += sizes[k]!;
    }
  }

  codes(arch: Architecture): Int32Array {
    const hot: number[] = [];
    for (const slot of this.space.slots(arch)) {
      const base = this.offsets.get(slot.path);
      if (base !== undefined) hot.push(base + slot.options.indexOf(slot.value));
    }
    return Int32Array.from(hot.sort((a, b) => a - b));
  }

  kernel(a: Int32Array, b: Int32Array): number {
    let c = 0;
    for (let i = 0, j = 0; i < a.length && j < b.length; ) {
      if (a[i] === b[j]) {
        c++;
        i++;
        j++;
      }
      else if (a[i]! < b[j]!) i++;
      else j++;
    }
    return this.pairwise ? c + (c * (c - 1)) / 2 : c;
  }
}

interface TrainingData {
  x: Int32Array[];
  y: number[];
  gram: Float64Array[];
}

interface Model {
  ridge: KernelRidge;
  rows: Int32Array[];
}

export class PredictorStrategy implements Strategy {
  private rng: Rng;
  private seen = new Set<string>();
  private results: Scored[] = [];
  private readonly encoder: Encoder;

  constructor(private readonly args: StrategyArgs<Options>) {
    this.rng = new Rng(args.seed);
    this.encoder = new Encoder(args.space, args.options.pairwise);
  }

  ask(n: number): Proposal[] {
    const { space, options } = this.args;
    const out: Proposal[] = [];
    const data = this.results.length >= options.initialSamples ? this.trainingData() : undefined;
    for (let i = 0; i < n && this.seen.size < space.size(); i++) {
      const p = data ? this.guided(this.bootstrapModel(data)) : this.random();
      if (!p) break;
      this.seen.add(space.hash(p.architecture));
      out.push(p);
    }
    return out;
  }

  tell(results: readonly TrialResult[]): void {
    for (const r of results) if (r.score !== null && Number.isFinite(r.score)) this.results.push({ trialId: r.trialId, architecture: r.architecture, score: r.score });
  }

  state(): JsonValue {
    const s: PredictorState = { rng: this.rng.state(), seen: [...this.seen], results: this.results };
    return s as unknown as JsonValue;
  }

  restore(state: JsonValue): void {
    const s = readState(stateSchema, state, "predictor strategy");
    this.rng = new Rng(s.rng);
    this.seen = new Set(s.seen);
    this.results = s.results.map((r) => ({ ...r }));
  }

  /** Encodings, scores and the kernel matrix of all results (computed once per ask). */
  private trainingData(): TrainingData {
    const x = this.results.map((r) => this.encoder.codes(r.architecture));
    return { x, y: this.results.map((r) => r.score), gram: x.map((a) => Float64Array.from(x, (b) => this.encoder.kernel(a, b))) };
  }

  /** A ridge regression on a bootstrap resample of the results: one draw of Thompson sampling. */
  private bootstrapModel({ x, y, gram }: TrainingData): Model {
    const idx = Array.from({ length: x.length }, () => this.rng.int(x.length));
    const sub = idx.map((i) => Float64Array.from(idx, (j) => gram[i]![j]!));
    return { ridge: KernelRidge.fit(sub, idx.map((i) => y[i]!), this.args.options.ridge), rows: idx.map((i) => x[i]!) };
  }

  /** The candidate that `model` predicts best. */
  private guided(model: Model): Proposal | undefined {
    const { space, options } = this.args;
    const top = [...this.results].sort((a, b) => b.score - a.score).slice(0, 10);
    const pool = new Map<string, Proposal>();
    for (let i = 0; i < options.candidates * 3 && pool.size < options.candidates; i++) {
      let p: Proposal;
      if (i % 2 === 0) {
        const parent = this.rng.pick(top);
        let arch = space.mutate(parent.architecture, this.rng).architecture;
        if (this.rng.next() < 0.5) arch = space.mutate(arch, this.rng).architecture;
        p = { architecture: arch, parentId: parent.trialId };
      } else p = { architecture: space.sample(this.rng) };
      const hash = space.hash(p.architecture);
      if (!this.seen.has(hash) && !pool.has(hash)) pool.set(hash, p);
    }
    let best: Proposal | undefined;
    let bestValue = -Infinity;
    for (const p of pool.values()) {
      const codes = this.encoder.codes(p.architecture);
      const v = model.ridge.predict(model.rows.map((r) => this.encoder.kernel(codes, r)));
      if (v > bestValue) [best, bestValue] = [p, v];
    }
    return best ?? this.random();
  }

  private random(): Proposal | undefined {
    const architecture = sampleUnseen(this.args.space, this.rng, this.seen, this.args.options.maxTries);
    return architecture && { architecture };
  }
}
