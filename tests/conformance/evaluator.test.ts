/**
 * Every evaluator of the catalogue (src/catalogue/evaluators.ts) must pass this suite, run in process through the
 * registry's `createEvaluator` as a trainer runs it (on the wasm backend `train` and `supernet` run in training
 * threads: src/evaluators/training-thread.ts). The contract is src/evaluators/evaluator.ts: finite metrics that
 * include the objective, a learning curve through `reportProgress`, the objective at each budget under a scheduler,
 * determinism for a seed, a stop request honoured promptly with TrialStopped, and TrialError (not a plain Error)
 * for a malformed architecture or options.
 *
 * Configurations cannot be generated, so each evaluator type has tiny, fast fixtures below; a type of the catalogue
 * without one fails the suite until it gets one.
 */
import { afterAll, describe, expect, it } from "vitest";
import { EVALUATOR_CATALOGUE, evaluatorEntry, type EvaluatorType, type Objective } from "../../src/catalogue/evaluators.js";
import { loadConfig } from "../../src/config.js";
import { classifyError, TrialError, TrialStopped } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import type { EvaluationContext, EvaluationRequest, EvaluationResult, Evaluator, ProgressPoint } from "../../src/evaluators/evaluator.js";
import { createEvaluator } from "../../src/evaluators/registry.js";
import { runTrainTrial } from "../../src/evaluators/train.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import type { SearchSpace } from "../../src/spaces/space.js";

const appConfig = loadConfig();
const spaces = SpaceRegistry.fromDirectory(appConfig.SEARCH_SPACES_DIR);
const space = (id: string) => spaces.get(id) ?? expect.fail(`no built-in space '${id}'`);
const nb201 = space("nasbench201");

interface Malformed {
  what: string;
  space?: SearchSpace;
  architecture?: Architecture;
  config?: Record<string, unknown>;
  /** The evaluator's own TrialError; else a ZodError of its options schema will do (classified as TrialError, errors.ts). */
  trialError: boolean;
}

interface Fixture {
  name: string;
  space: SearchSpace;
  architecture: Architecture;
  /** Tiny and fast. */
  config: Record<string, unknown>;
  objective: Objective;
  /** Budgets the run needs for a learning curve at all (benchmark: it has none otherwise). */
  curveBudgets?: number[];
  /** Under a scheduler: budgets to evaluate at (training steps for `train`), for evaluators of searches. */
  budgets?: number[];
  /** Takes long unless stopped: the stop test asks it to stop after its first progress point. */
  long: { config: Record<string, unknown>; budgets?: number[] };
  malformed: Malformed[];
  /** What else this evaluator's result must hold. */
  check?(result: EvaluationResult, fixture: Fixture): void;
}

const NB201_ARCH = { node1_from0: "nor_conv_3x3", node2_from0: "nor_conv_3x3", node2_from1: "avg_pool_3x3", node3_from0: "skip_connect", node3_from1: "nor_conv_3x3", node3_from2: "skip_connect" };
const LM_ARCH = { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0, layers: [{ attention: "full", activation: "relu" }] };
const LM_TRAIN = { task: "charlm-moby-dick", budget: { steps: 20 }, batchSize: 4, contextLength: 16, evalSequences: 8, logEvery: 2, evalEvery: 10, sampleLength: 10 };
const FLOW_ARCH = { steps: 2, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: false, hidden_width: 16, hidden_depth: 1, activation: "relu", base: "standard_normal" };
const FLOW_TRAIN = { task: "8gaussians", budget: { steps: 30 }, batchSize: 64, evalEvery: 10, samples: 200 };
const LM_BASE = { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0 };
const SUPERNET = { supernetSteps: 12, deriveTop: 1, alphaEvery: 4, baseArchitecture: LM_BASE, train: { task: "charlm-moby-dick", batchSize: 4, contextLength: 16, logEvery: 2, evalSequences: 8 } };
const FLOW_BASE = { steps: 2, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: false, hidden_width: 16, hidden_depth: 1, base: "standard_normal" };
const FLOW_SUPERNET = { supernetSteps: 12, deriveTop: 1, alphaEvery: 4, baseArchitecture: FLOW_BASE, train: { task: "8gaussians", batchSize: 64 } };

/** A supernet job reports what it found: the derived architectures, each valid in the space, distinct. */
function checkDerived(result: EvaluationResult, f: Fixture): void {
  const derived = result.metrics.derived as Architecture[];
  expect(Array.isArray(derived) && derived.length > 0).toBe(true);
  expect(derived.length).toBeLessThanOrEqual(1 + (f.config.deriveTop as number));
  for (const a of derived) expect(f.space.validate(a)).toEqual([]);
  expect(new Set(derived.map((a) => f.space.hash(a))).size).toBe(derived.length);
}

const FIXTURES: Record<EvaluatorType, Fixture[]> = {
  benchmark: [
    {
      name: "nasbench201 lookup",
      space: nb201,
      architecture: NB201_ARCH,
      config: {},
      objective: { metric: "test_accuracy", direction: "maximize" },
      curveBudgets: [1, 3, 9, 27],
      budgets: [1, 3, 9, 27],
      long: { config: { latencyMs: 30_000 }, budgets: [1, 27, 81] },
      malformed: [
        { what: "an operation that is not one", architecture: { ...NB201_ARCH, node1_from0: "conv_9x9" }, trialError: true },
        { what: "an empty architecture", architecture: {}, trialError: true },
        { what: "options of the wrong type", config: { curveNoise: -1 }, trialError: false },
        { what: "a dataset the benchmark has not", config: { dataset: "imagenet" }, trialError: false },
      ],
    },
  ],
  train: [
    {
      name: "transformer-lm, 1 layer of width 32",
      space: space("transformer-lm"),
      architecture: LM_ARCH,
      config: LM_TRAIN,
      objective: { metric: "val_bpc", direction: "minimize" },
      budgets: [5, 10, 16],
      long: { config: { ...LM_TRAIN, budget: { steps: 20_000 } } },
      malformed: [
        { what: "an empty architecture", architecture: {}, trialError: true },
        { what: "layers that are not n_layers", architecture: { ...LM_ARCH, layers: [] }, trialError: true },
        { what: "an attention kind that is not one", architecture: { ...LM_ARCH, layers: [{ attention: "quantum", activation: "relu" }] }, trialError: true },
        { what: "a space of a family it does not train", space: nb201, architecture: NB201_ARCH, trialError: true },
        { what: "a batch size of 0", config: { ...LM_TRAIN, batchSize: 0 }, trialError: false },
      ],
    },
    {
      name: "flow-2d, 2 affine steps",
      space: space("flow-2d"),
      architecture: FLOW_ARCH,
      config: FLOW_TRAIN,
      objective: { metric: "gap_nats", direction: "minimize" },
      budgets: [10, 20, 30],
      long: { config: { ...FLOW_TRAIN, budget: { steps: 100_000 } } },
      malformed: [
        { what: "an empty architecture", architecture: {}, trialError: true },
        { what: "a coupling that is not one", architecture: { ...FLOW_ARCH, coupling: "glow" }, trialError: true },
        { what: "0 steps", architecture: { ...FLOW_ARCH, steps: 0 }, trialError: true },
        { what: "a batch size of 0", config: { ...FLOW_TRAIN, batchSize: 0 }, trialError: false },
      ],
    },
  ],
  supernet: [
    {
      name: "transformer-lm supernet of 1 layer",
      space: space("transformer-lm"),
      architecture: LM_BASE,
      config: SUPERNET,
      objective: { metric: "val_bpc", direction: "minimize" },
      long: { config: { ...SUPERNET, supernetSteps: 100_000 } },
      malformed: [
        { what: "a base outside the space", config: { ...SUPERNET, baseArchitecture: { ...LM_BASE, d_model: 48 } }, trialError: true },
        { what: "a base without n_layers", config: { ...SUPERNET, baseArchitecture: { d_model: 32 } }, trialError: true },
        { what: "0 supernet steps", config: { ...SUPERNET, supernetSteps: 0 }, trialError: true },
        { what: "a task that is not one", config: { ...SUPERNET, train: { task: "nope" } }, trialError: true },
        { what: "a space of a family it does not support", space: nb201, architecture: NB201_ARCH, trialError: true },
      ],
      check: checkDerived,
    },
    {
      name: "flow-2d supernet of 2 steps",
      space: space("flow-2d"),
      architecture: FLOW_BASE,
      config: FLOW_SUPERNET,
      objective: { metric: "gap_nats", direction: "minimize" },
      long: { config: { ...FLOW_SUPERNET, supernetSteps: 100_000 } },
      malformed: [{ what: "a base outside the space", config: { ...FLOW_SUPERNET, baseArchitecture: { ...FLOW_BASE, coupling: "glow" } }, trialError: true }],
      check: checkDerived,
    },
  ],
};

/** Metrics that measure time: they differ between two runs of the same trial. */
const TIMING = /time|per_second/;

function request(f: Fixture, overrides: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return { trialId: "t1", searchId: "s1", attempt: 1, space: f.space, architecture: f.architecture, config: f.config, objective: f.objective, seed: 11, ...overrides };
}

function recorder(stopAfterPoints = Infinity): EvaluationContext & { points: ProgressPoint[]; stopAskedAt?: number } {
  const rec: EvaluationContext & { points: ProgressPoint[]; stopAskedAt?: number } = {
    points: [],
    reportProgress: async (p) => {
      await new Promise((r) => setTimeout(r, 1)); // the trainer stores points asynchronously
      rec.points.push(structuredClone(p));
      if (rec.points.length === stopAfterPoints) rec.stopAskedAt = performance.now();
    },
    shouldStop: () => rec.points.length >= stopAfterPoints,
    log: () => {},
  };
  return rec;
}

const numeric = (metrics: Record<string, unknown>) => Object.fromEntries(Object.entries(metrics).filter(([k, v]) => typeof v === "number" && !TIMING.test(k)));

/** Every series of the curve (each value key, and α) has strictly increasing steps; all values are finite. */
function expectCurve(points: ProgressPoint[]): void {
  expect(points.length, "progress points").toBeGreaterThan(1);
  const last = new Map<string, number>();
  for (const p of points) {
    expect(Number.isFinite(p.step) && p.step >= 0, `step ${p.step}`).toBe(true);
    for (const [key, v] of Object.entries(p.values)) expect(Number.isFinite(v), `${key} at step ${p.step} is ${v}`).toBe(true);
    for (const key of [...Object.keys(p.values), ...(p.alphas ? ["(alphas)"] : [])]) {
      if (last.has(key)) expect(p.step, `${key}: step ${p.step} after ${last.get(key)}`).toBeGreaterThan(last.get(key)!);
      last.set(key, p.step);
    }
  }
  expect(new Set(points.map((p) => p.step)).size, "distinct steps").toBeGreaterThan(1);
  for (let i = 1; i < points.length; i++) expect(points[i]!.step).toBeGreaterThanOrEqual(points[i - 1]!.step);
}

it("every evaluator type of the catalogue has conformance fixtures", () => {
  for (const entry of EVALUATOR_CATALOGUE) expect(FIXTURES[entry.type as EvaluatorType]?.length ?? 0, entry.type).toBeGreaterThan(0);
});

describe.each(EVALUATOR_CATALOGUE.map((e) => [e.type, e] as const))("evaluator %s (conformance)", (type, entry) => {
  const evaluator: Evaluator | undefined = createEvaluator(type, appConfig);
  afterAll(async () => {
    await evaluator?.close?.();
  });

  it("is implemented by the registry", () => {
    expect(evaluator).toBeDefined();
    expect(evaluatorEntry(type)).toBe(entry);
  });

  describe.each((FIXTURES[type as EvaluatorType] ?? []).map((f) => [f.name, f] as const))("%s", (_name, f) => {
    let first: { result: EvaluationResult; points: ProgressPoint[] } | undefined;
    const runOnce = async (overrides: Partial<EvaluationRequest> = {}) => {
      const ctx = recorder();
      const result = await evaluator!.evaluate(request(f, { budgets: f.curveBudgets, ...overrides }), ctx);
      return { result, points: ctx.points };
    };

    it("returns finite metrics that include the objective, and reports a learning curve of increasing steps", async () => {
      first = await runOnce();
      const { metrics } = first.result;
      expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics); // stored as JSON
      for (const [key, v] of Object.entries(metrics)) if (typeof v === "number") expect(Number.isFinite(v), `${key} = ${v}`).toBe(true);
      if (entry.forSearches) {
        expect(entry.metrics).toContain(f.objective.metric);
        expect(metrics[f.objective.metric], f.objective.metric).toEqual(expect.any(Number));
      }
      expectCurve(first.points);
      if (f.curveBudgets) expect(first.points.map((p) => p.step)).toEqual(f.curveBudgets);
      f.check?.(first.result, f);
    });

    it("is deterministic: the same seed gives the same metrics and curve", async () => {
      first ??= await runOnce();
      const again = await runOnce();
      expect(numeric(again.result.metrics)).toEqual(numeric(first.result.metrics));
      expect(Object.keys(numeric(first.result.metrics)).length).toBeGreaterThan(0);
      const values = (points: ProgressPoint[]) => points.map((p) => ({ step: p.step, values: numeric(p.values), alphas: p.alphas }));
      expect(values(again.points)).toEqual(values(first.points));
      for (const [key, v] of Object.entries(first.result.metrics)) if (typeof v !== "number" && !TIMING.test(key)) expect(again.result.metrics[key], key).toEqual(v);
    });

    it("stops promptly with TrialStopped when asked after its first progress point", async () => {
      const ctx = recorder(1);
      const started = performance.now();
      const outcome = await evaluator!.evaluate(request(f, { config: f.long.config, budgets: f.long.budgets }), ctx).then(
        () => undefined,
        (err: unknown) => err,
      );
      const stoppedAt = performance.now();
      expect(outcome).toBeInstanceOf(TrialStopped);
      expect(classifyError(outcome)).toBe("stopped");
      expect(ctx.stopAskedAt, "a progress point before the stop").toBeDefined();
      // Stopped within seconds of the request: far from the budget of the long run.
      expect(stoppedAt - ctx.stopAskedAt!, `ms from stop request to rejection (the run took ${Math.round(stoppedAt - started)} ms)`).toBeLessThan(5000);
      expect(ctx.points.length, "points reported after the stop request").toBeLessThanOrEqual(4);
    });

    it.each(f.malformed.map((m) => [m.what, m] as const))("rejects %s with a TrialError (not retried)", async (_what, m) => {
      let promise: Promise<EvaluationResult> | undefined;
      const sync = (() => {
        try {
          promise = evaluator!.evaluate(request(f, { space: m.space ?? f.space, architecture: m.architecture ?? f.architecture, config: m.config ?? f.config }), recorder());
        } catch (err) {
          return err;
        }
      })();
      expect(sync, "evaluate rejects rather than throwing").toBeUndefined();
      const err = await promise!.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, "it must not succeed").toBeInstanceOf(Error);
      expect(classifyError(err), `${(err as Error).name}: ${(err as Error).message}`).toBe("trial");
      if (m.trialError) expect(err, (err as Error).message).toBeInstanceOf(TrialError);
    });

    if (entry.forSearches && f.budgets) {
      const budgets = f.budgets;
      it(`under a scheduler, reports the objective at each budget (${budgets.join(", ")}) and trains to the last`, async () => {
        const { result, points } = await runOnce({ budgets });
        for (const b of budgets) {
          const carrying = points.filter((p) => p.step === b && Number.isFinite(p.values.objective ?? p.values[f.objective.metric]));
          expect(carrying.length, `a point at budget ${b} carrying ${f.objective.metric} (or objective); got steps ${[...new Set(points.map((p) => p.step))].join(",")}`).toBeGreaterThan(0);
        }
        expect(Math.max(...points.map((p) => p.step))).toBe(budgets.at(-1));
        if (typeof result.metrics.steps === "number") expect(result.metrics.steps).toBe(budgets.at(-1));
        expect(result.metrics[f.objective.metric]).toEqual(expect.any(Number));
      });
    }
  });
});

describe("in-process training (the evaluator createEvaluator returns on tfjs-node, where no thread is used)", () => {
  // The `train` evaluator is `runTrainTrial` itself there: for a space of a family it does not train, `evaluate`
  // must return a rejected promise, not throw (src/evaluators/train.ts).
  it("rejects a space of a family it does not train, rather than throwing synchronously", async () => {
    const rng = new Rng(1);
    let promise: Promise<EvaluationResult> | undefined;
    expect(() => {
      promise = runTrainTrial({ ...request(FIXTURES.train![0]!), space: nb201, architecture: nb201.sample(rng) }, recorder());
    }).not.toThrow();
    await expect(promise).rejects.toBeInstanceOf(TrialError);
  });
});
