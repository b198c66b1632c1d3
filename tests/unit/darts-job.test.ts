/** The supernet job a trainer runs for a `darts` search: options, progress and α reports, derivation, stop and errors. */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { TrialError, TrialStopped } from "../../src/evaluators/evaluator.js";
import { dartsOptions as dartsConfigSchema } from "../../src/catalogue/strategies.js";
import { runSupernetJob, splitForSearch, type SupernetJobContext } from "../../src/evaluators/supernet.js";
import { Rng } from "../../src/core/rng.js";
import { CharLMTask } from "../../src/tasks/charlm.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const load = (name: string) => new SearchSpace(JSON.parse(readFileSync(new URL(`../../search-spaces/${name}.json`, import.meta.url), "utf8")));
const space = load("transformer-lm");
const train = { task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32, evalSequences: 8 };

function recorder(stopAfter = Infinity) {
  const progress: Array<{ step: number; values: Record<string, number> }> = [];
  const alphas: Array<{ step: number; alphas: Record<string, Record<string, number>> }> = [];
  const ctx: SupernetJobContext = {
    reportProgress: (p) => void progress.push(p),
    reportAlphas: (step, a) => void alphas.push({ step, alphas: a }),
    shouldStop: () => progress.length >= stopAfter,
    log: () => {},
  };
  return { ctx, progress, alphas };
}

describe("dartsConfigSchema", () => {
  it("accepts the request of the issue and fills the defaults", () => {
    const strategy = dartsConfigSchema.extend({ type: z.literal("darts") });
    const parsed = strategy.parse({ type: "darts", order: 1, supernetSteps: 40, deriveTop: 2 });
    expect(parsed).toMatchObject({ type: "darts", order: 1, supernetSteps: 40, deriveTop: 2, remedy: "none", alphaEvery: 10, allowNone: true, alphaWeightDecay: 1e-3 });
    expect(dartsConfigSchema.safeParse({ order: 3 }).success).toBe(false);
    expect(dartsConfigSchema.safeParse({ remedy: "darts++" }).success).toBe(false);
    expect(dartsConfigSchema.safeParse({ attentionCandidates: ["none"] }).success).toBe(false); // `none` is allowNone's business
  });
});

describe("splitForSearch", () => {
  it("draws weight batches from the first half of the training split and α batches from the second, as in the paper", () => {
    // Training split (90 %): 450 characters of a/b, then 450 of c/d; the rest is the validation split.
    const text = "ab".repeat(225) + "cd".repeat(225) + "e".repeat(100);
    const task = new CharLMTask(text);
    const data = splitForSearch(task);
    const rng = new Rng(1);
    const ab = new Set(task.encode("ab"));
    const cd = new Set(task.encode("cd"));
    for (let i = 0; i < 20; i++) {
      expect(Array.from(data.weightBatch(rng, 4, 16).inputs).every((t) => ab.has(t))).toBe(true);
      expect(Array.from(data.alphaBatch(rng, 4, 16).inputs).every((t) => cd.has(t))).toBe(true);
    }
  });
});

describe("runSupernetJob", () => {
  it("trains a supernet on Moby-Dick, reports progress and α, and derives the argmax plus deriveTop valid, distinct architectures", async () => {
    const { ctx, progress, alphas } = recorder();
    const base = { n_layers: 2, d_model: 32, n_heads: 2, ff_mult: 1, positions: "rotary", norm: "rmsnorm", dropout: 0.1 };
    const tensorsBefore = tf.memory().numTensors;
    const result = await runSupernetJob(
      { space, seed: 7, darts: { order: 1, supernetSteps: 8, warmupSteps: 2, deriveTop: 2, alphaEvery: 4, baseArchitecture: base, window: 8, stride: 4 }, train: { ...train, logEvery: 4 } },
      ctx,
    );
    expect(tf.memory().numTensors).toBe(tensorsBefore); // the supernet, its α and the optimisers are freed
    expect(result.steps).toBe(8);
    expect(result.derived).toHaveLength(3);
    const hashes = result.derived.map((a) => space.hash(a));
    expect(new Set(hashes).size).toBe(3);
    for (const a of result.derived) {
      expect(space.validate(a)).toEqual([]);
      expect(a).toMatchObject(base); // the decisions DARTS does not relax come from the base
    }
    expect(result.derivation.map((d) => d.hash)).toEqual(hashes);
    expect(Object.keys(result.alphas)).toEqual(["layers[0].attention", "layers[0].activation", "layers[1].attention", "layers[1].activation"]);
    expect(Object.keys(result.alphas["layers[0].attention"]!)).toEqual(["full", "local", "strided", "linear", "none"]);
    expect(Object.keys(result.alphas["layers[0].activation"]!)).toHaveLength(6);
    for (const probs of Object.values(result.alphas)) expect(Object.values(probs).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    expect(alphas.map((a) => a.step)).toEqual([0, 4, 8]);
    expect(alphas[0]!.alphas["layers[0].attention"]!.full).toBeCloseTo(0.2, 6);
    expect(alphas.at(-1)!.alphas).toEqual(result.alphas);
    expect(progress.filter((p) => p.values.train_loss !== undefined).map((p) => p.step)).toEqual([4, 8]);
    expect(progress.at(-1)!.values.supernet_val_loss).toBeCloseTo(result.supernetValLoss, 6);
    expect(result.supernetValLoss).toBeGreaterThan(0);
    expect(result.supernetValLoss).toBeLessThan(6); // below ln(83 characters) + 1.5
  });

  it("stops between steps when asked, with TrialStopped", async () => {
    const { ctx } = recorder(1);
    const darts = { supernetSteps: 50, deriveTop: 0, baseArchitecture: { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0 } };
    await expect(runSupernetJob({ space, seed: 1, darts: { ...darts, attentionCandidates: ["full"], activationCandidates: ["relu"] }, train: { ...train, logEvery: 2 } }, ctx)).rejects.toBeInstanceOf(TrialStopped);
  });

  it("fails with TrialError on its own faults: a base outside the space, bad options, an unsupported family", async () => {
    const { ctx } = recorder();
    const bad = { n_layers: 1, d_model: 48, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0 }; // d_model not on the grid
    await expect(runSupernetJob({ space, seed: 1, darts: { baseArchitecture: bad }, train }, ctx)).rejects.toThrow(TrialError);
    await expect(runSupernetJob({ space, seed: 1, darts: { baseArchitecture: bad }, train }, ctx)).rejects.toThrow(/d_model/);
    await expect(runSupernetJob({ space, seed: 1, darts: { supernetSteps: 0 }, train }, ctx)).rejects.toThrow(/supernetSteps/);
    await expect(runSupernetJob({ space, seed: 1, darts: { window: 5 }, train }, ctx)).rejects.toThrow(/window 5/);
    await expect(runSupernetJob({ space, seed: 1, darts: {}, train: { task: "nope" } }, ctx)).rejects.toThrow(TrialError);
    await expect(runSupernetJob({ space: new SearchSpace({ ...load("flow-2d").definition, family: "nasbench201" }), seed: 1, darts: {}, train: {} }, ctx)).rejects.toThrow(/family .nasbench201./);
  });
});
