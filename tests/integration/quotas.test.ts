/**
 * Quotas and limits: every refusal is a 4xx naming the setting, the orchestrator shares a project's quota of trials
 * in flight fairly among its searches, refuses trials over the ceilings before they are queued, stops a search at its
 * compute budget, and the trainers take different searches' trials in turn.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createSearch } from "../../src/db/searches.js";
import { completeTrial } from "../../src/db/trials.js";
import { advanceSearch, waterFill } from "../../src/orchestrator/advance.js";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let client: Client;

beforeAll(async () => {
  database = await freshDatabase("quotas");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_quotas`, MAX_ACTIVE_SEARCHES_PER_PROJECT: "2" });
  client = withKey(await services.app(), (await services.key("quota-a")).key);
});
afterAll(async () => {
  await services.close();
  await database.drop();
});

const LM = {
  name: "lm", space: "transformer-lm", strategy: { type: "random" },
  evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 },
  objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 3,
};
const post = (body: object) => client.inject({ method: "POST", url: "/v1/searches", payload: body });

describe("refused at submission, naming the limit", () => {
  it.each([
    ["budget.maxTrials", { ...NB201_SEARCH, budget: { maxTrials: 1_000_000, maxParallel: 4 } }, "MAX_TRIALS_PER_SEARCH = 10000"],
    ["budget.maxParallel", { ...NB201_SEARCH, budget: { maxTrials: 100, maxParallel: 10_000 } }, "MAX_PARALLEL_PER_SEARCH = 64"],
    ["evaluator.batchSize", { ...LM, evaluator: { ...LM.evaluator, batchSize: 1024, contextLength: 2048 } }, "MAX_TRIAL_TOKENS_PER_STEP = 262144"],
    ["evaluator.budget.steps", { ...LM, evaluator: { ...LM.evaluator, budget: { steps: 1_000_000 } } }, "MAX_TRIAL_STEPS = 100000"],
  ])("%s", async (field, body, limit) => {
    const res = await post(body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().issues[0]).toMatchObject({ field, message: expect.stringContaining(limit) });
  });

  it("a seed architecture of evolution that is not one of the space's", async () => {
    const res = await post({ ...LM, strategy: { type: "evolution", seedArchitectures: [{ n_layers: 99 }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].field).toBe("strategy.seedArchitectures.0.n_layers"); // the decision at fault
  });

  it("a project's active searches: 429 naming MAX_ACTIVE_SEARCHES_PER_PROJECT; another project is not affected", async () => {
    expect((await post(NB201_SEARCH)).statusCode).toBe(201);
    expect((await post(NB201_SEARCH)).statusCode).toBe(201);
    const third = await post(NB201_SEARCH);
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ error: "quota_exceeded", message: expect.stringContaining("MAX_ACTIVE_SEARCHES_PER_PROJECT = 2") });
    const other = withKey(await services.app(), (await services.key("quota-b")).key);
    expect((await other.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH })).statusCode).toBe(201);
  });
});

describe("waterFill", () => {
  it("gives every search min(maxParallel, an equal share of what the smaller ones leave), all of the quota when wanted", () => {
    const shares = waterFill([{ id: "a", maxParallel: 2 }, { id: "b", maxParallel: 100 }, { id: "c", maxParallel: 100 }], 64);
    expect(Object.fromEntries(shares)).toEqual({ a: 2, b: 31, c: 31 });
    expect(Object.fromEntries(waterFill([{ id: "a", maxParallel: 8 }, { id: "b", maxParallel: 8 }], 5))).toEqual({ a: 2, b: 3 });
    expect(Object.fromEntries(waterFill([{ id: "a", maxParallel: 4 }], 64))).toEqual({ a: 4 });
  });
});

describe("the orchestrator", () => {
  const scope = async (name: string) => ({ projectId: (await services.key(name)).projectId });
  const nb201 = (overrides: object = {}) => ({
    name: "q", space: "nasbench201", task: "cifar10", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
    objectiveMetric: "test_accuracy", objectiveDirection: "maximize" as const, maxTrials: 50, maxParallel: 8, maxFailures: 50, seed: 1, ...overrides,
  });
  const complete = async (id: string) => {
    await services.db.trial.update({ where: { id }, data: { status: "running", attempts: 1 } });
    await completeTrial(services.db, id, { test_accuracy: 80 }, 80);
  };

  it("shares a project's quota of trials in flight: a search over its share wakes the one under it", async () => {
    const project = await scope("quota-share");
    const limits = { MAX_TRIALS_IN_FLIGHT_PER_PROJECT: 4 };
    const a = await createSearch(services.db, project, nb201());
    const first = await advanceSearch(services.db, services.spaces, a.id, limits);
    expect(first.created).toHaveLength(4); // alone, it may use the whole quota
    const b = await createSearch(services.db, project, nb201());
    expect((await advanceSearch(services.db, services.spaces, b.id, limits)).created).toHaveLength(0); // the quota is full
    await complete(first.created[0]!.id);
    const again = await advanceSearch(services.db, services.spaces, a.id, limits);
    expect(again.created).toHaveLength(0); // its share is 2 now and it holds 3
    expect(again.wake).toEqual([b.id]);
    expect((await advanceSearch(services.db, services.spaces, b.id, limits)).created).toHaveLength(1);
  });

  it("refuses a trial over a ceiling before it is queued: stored failed with the reason, told to the strategy", async () => {
    const s = await createSearch(services.db, await scope("quota-ceiling"), {
      ...nb201(), space: "transformer-lm", task: "charlm-moby-dick@30steps", evaluator: LM.evaluator, objectiveMetric: "val_bpc", objectiveDirection: "minimize", maxParallel: 2,
    });
    const outcome = await advanceSearch(services.db, services.spaces, s.id, { MAX_TRIAL_PARAMS: 1000 });
    expect(outcome.created).toEqual([]);
    expect(outcome.wake).toContain(s.id);
    const trials = await services.db.trial.findMany({ where: { searchId: s.id } });
    expect(trials).toHaveLength(2);
    for (const t of trials) {
      expect(t.status).toBe("failed");
      expect(t.error).toMatch(/refused before training: \d+ parameters exceed MAX_TRIAL_PARAMS = 1000/);
    }
    await advanceSearch(services.db, services.spaces, s.id, { MAX_TRIAL_PARAMS: 1000 });
    expect((await services.db.trial.findMany({ where: { searchId: s.id, told: true } })).length).toBeGreaterThanOrEqual(2);
  });

  it("stops proposing at the search's compute budget and completes, saying so, when its trials are done", async () => {
    const s = await createSearch(services.db, await scope("quota-compute"), {
      ...nb201(), space: "transformer-lm", task: "charlm-moby-dick@30steps", evaluator: LM.evaluator, objectiveMetric: "val_bpc", objectiveDirection: "minimize", maxParallel: 3, maxTrials: 20,
    });
    // A budget smaller than any trial: nothing is queued, and with nothing in flight the search ends.
    const limits = { MAX_TRAIN_FLOPS_PER_SEARCH: 1 };
    const outcome = await advanceSearch(services.db, services.spaces, s.id, limits);
    expect(outcome.created).toHaveLength(0);
    const done = await advanceSearch(services.db, services.spaces, s.id, limits);
    expect(done.status).toBe("completed");
    const row = await services.db.search.findUnique({ where: { id: s.id } });
    expect(row?.error).toMatch(/compute budget \(MAX_TRAIN_FLOPS_PER_SEARCH = 1\) is spent/);
    expect(row?.computeExhausted).toBe(true);
  });
});

describe("fairness between searches", () => {
  let processes: ProcessHandle[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.close()));
    processes = [];
  });

  it("a small search submitted behind a large one runs its trials in turn with it, not after it", async () => {
    const config = { ...services.config, TRAINER_CONCURRENCY: 1, LOG_LEVEL: "silent" as const };
    // The earlier tests' searches end first: left active, the trainer would train their trials (a transformer-lm
    // search among them) in turn with these two, and the wait below would measure that training instead.
    const earlier = { status: { in: ["queued" as const, "running" as const] } };
    await services.db.trial.updateMany({ where: { ...earlier, search: earlier }, data: { status: "cancelled" } });
    await services.db.search.updateMany({ where: earlier, data: { status: "cancelled" } });
    processes = [await startOrchestrator(config), await startTrainer(config)];
    const big = await createSearch(services.db, { projectId: (await services.key("fair-big")).projectId }, {
      name: "big", space: "nasbench201", task: "cifar10", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 150 },
      objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 60, maxParallel: 30, maxFailures: 60, seed: 1,
    });
    await services.queues.enqueueAdvance(big.id);
    await waitFor("the large search's trials queued", async () => (await services.db.trial.count({ where: { searchId: big.id } })) >= 30, 30_000, 50);
    const small = await createSearch(services.db, { projectId: (await services.key("fair-small")).projectId }, {
      name: "small", space: "nasbench201", task: "cifar10", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 150 },
      objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 3, maxParallel: 1, maxFailures: 3, seed: 2,
    });
    await services.queues.enqueueAdvance(small.id);
    // Alone on a quiet machine this takes ~2 s; the property is the count below, not the time.
    await waitFor("the small search to complete", async () => (await services.db.search.findUnique({ where: { id: small.id } }))?.status === "completed", 60_000, 50);
    // In turn: about one large trial between two small ones, so the large search is far from done.
    const bigDone = await services.db.trial.count({ where: { searchId: big.id, status: "completed" } });
    expect(bigDone).toBeLessThan(20);
  }, 120_000);
});
