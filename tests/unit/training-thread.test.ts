/**
 * `train` trials in training threads (src/evaluators/training-thread.ts): the result, curve and logs come back as
 * in-process training gives them; stop requests and the evaluator's errors keep their meaning; a thread is reused
 * while its heap is small and replaced after a trial that grew it past the limit; a thread that dies mid-trial
 * fails the attempt with a transient error; the thread of an abandoned (timed-out) trial is terminated.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type ProgressPoint } from "../../src/evaluators/evaluator.js";
import { ThreadedEvaluator, TrainingThreadCrashed } from "../../src/evaluators/training-thread.js";
import { SearchSpace } from "../../src/spaces/space.js";

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));
const arch = {
  n_layers: 1,
  d_model: 32,
  n_heads: 2,
  ff_mult: 2,
  positions: "rotary",
  norm: "rmsnorm",
  dropout: 0,
  layers: [{ attention: "full", activation: "swiglu" }],
};
const config = { task: "charlm-moby-dick", budget: { steps: 8 }, batchSize: 4, contextLength: 16, evalSequences: 8, evalEvery: 4, logEvery: 2, sampleLength: 10 };

function request(overrides: Partial<EvaluationRequest> = {}): EvaluationRequest {
  return { trialId: "t1", searchId: "s1", attempt: 1, space, architecture: arch as EvaluationRequest["architecture"], config, objective: { metric: "val_bpc", direction: "minimize" }, seed: 7, ...overrides };
}

function context(stopAfter = Infinity): EvaluationContext & { points: ProgressPoint[]; logs: string[] } {
  const points: ProgressPoint[] = [];
  const logs: string[] = [];
  return {
    points,
    logs,
    reportProgress: async (p) => {
      await new Promise((r) => setTimeout(r, 5)); // the trainer stores points asynchronously
      points.push(p);
    },
    shouldStop: () => points.length >= stopAfter,
    log: (m) => void logs.push(m),
  };
}

let evaluator: ThreadedEvaluator | undefined;
afterEach(async () => {
  await evaluator?.close();
  evaluator = undefined;
});

describe("ThreadedEvaluator", () => {
  it("returns the trial's metrics, sample and curve; reuses its thread while the heap stays under the limit", async () => {
    expect(space.isValid(arch)).toBe(true);
    evaluator = new ThreadedEvaluator(4 * 2 ** 30);
    const ctx = context();
    const a = await evaluator.evaluate(request(), ctx);
    expect(a.metrics.val_bpc).toBeGreaterThan(0);
    expect(a.metrics.backend).toMatch(/^wasm/);
    expect(typeof a.metrics.sample).toBe("string");
    expect(ctx.points.map((p) => p.step)).toEqual(expect.arrayContaining([2, 4, 6, 8]));
    expect(ctx.points.some((p) => p.values.val_loss !== undefined)).toBe(true);
    const second = context();
    const b = await evaluator.evaluate(request(), second);
    expect(b.metrics.val_bpc).toBe(a.metrics.val_bpc); // same seed, same backend
    expect([...ctx.logs, ...second.logs].join("\n")).not.toMatch(/replaced/);
    expect(evaluator.threadsStarted).toBe(1);
  });

  it("replaces the thread after a trial that left the heap above the limit", async () => {
    evaluator = new ThreadedEvaluator(0);
    const ctx = context();
    await evaluator.evaluate(request(), ctx);
    expect(ctx.logs.join("\n")).toMatch(/the wasm heap grew to \d+ MiB: the training thread is replaced/);
    expect((await evaluator.evaluate(request(), context())).metrics.val_bpc).toBeGreaterThan(0);
    expect(evaluator.threadsStarted).toBe(2);
  });

  it("stops when asked (TrialStopped) at the first acknowledged point, and passes TrialError through", async () => {
    evaluator = new ThreadedEvaluator(4 * 2 ** 30);
    const ctx = context(1);
    await expect(evaluator.evaluate(request({ config: { ...config, budget: { steps: 400 } } }), ctx)).rejects.toBeInstanceOf(TrialStopped);
    expect(ctx.points).toHaveLength(1);
    const nb201 = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/nasbench201.json", import.meta.url), "utf8")));
    await expect(evaluator.evaluate(request({ space: nb201 }), context())).rejects.toSatisfy((e: Error) => e instanceof TrialError && /cannot train 'nasbench201'/.test(e.message));
  });

  it("fails the attempt with a transient error when its thread dies mid-trial", async () => {
    evaluator = new ThreadedEvaluator(4 * 2 ** 30);
    const ctx = context();
    const running = evaluator.evaluate(request({ config: { ...config, budget: { steps: 400 } } }), {
      ...ctx,
      reportProgress: (p) => {
        ctx.points.push(p);
        if (ctx.points.length === 1) void evaluator!.close(); // terminates the busy thread
      },
    });
    const err = await running.catch((e: Error) => e);
    expect(err).toBeInstanceOf(TrainingThreadCrashed);
    expect(err).not.toBeInstanceOf(TrialError);
    expect((err as Error).message).toMatch(/exited .* during the trial/);
  });

  it("terminates the thread of a trial the trainer abandons (ctx.signal aborted: past TRIAL_TIMEOUT_S), and starts a fresh one next", async () => {
    evaluator = new ThreadedEvaluator(4 * 2 ** 30);
    const abort = new AbortController();
    const ctx = context();
    const t0 = Date.now();
    const running = evaluator.evaluate(request({ config: { ...config, budget: { steps: 100_000 } } }), {
      ...ctx,
      signal: abort.signal,
      reportProgress: (p) => {
        ctx.points.push(p);
        if (ctx.points.length === 1) abort.abort(); // mid-trial, between steps as a timeout would land
      },
    });
    const err = await running.catch((e: Error) => e);
    expect(err).toBeInstanceOf(TrainingThreadCrashed);
    expect((err as Error).message).toMatch(/terminated: the trial was abandoned/);
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 100,000 steps
    expect((await evaluator.evaluate(request(), context())).metrics.val_bpc).toBeGreaterThan(0);
    expect(evaluator.threadsStarted).toBe(2);
  });
});
