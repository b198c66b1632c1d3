/**
 * The API a newcomer meets (issue 15): every option documented with its default; searches that show their
 * progress, best trial and backends, trials that show step x of N, an ETA and their backend; a budget that says
 * what it counts (ASHA: pruned trials count); leaderboards that are listed and never guessed; objective directions
 * fixed per metric; seed architectures in every accepted form; cancel of an ended search a 409; labelled density
 * pictures; an `engines` field that the dependencies agree with. In-process (app.inject, orchestrator and trainer
 * factories) against the real PostgreSQL (a database of its own) and Redis of this run.
 */
import type { FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { PRE_TRAINING_METRICS } from "../../src/catalogue/architecture-costs.js";
import { EVALUATOR_CATALOGUE, TRAIN_FAMILIES } from "../../src/catalogue/evaluators.js";
import { metricDirection } from "../../src/catalogue/metric-directions.js";
import { createSearch } from "../../src/db/searches.js";
import { addCurvePoints, completeTrial, finishTrial, startTrial } from "../../src/db/trials.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import type { TrialJob } from "../../src/queue/queues.js";
import { nb201ToString } from "../../src/spaces/nasbench201.js";
import { DENSITY_PANELS, densityPng, labelBand, samplesPng } from "../../src/tasks/plots.js";
import { TrialRunner } from "../../src/trainer/trial-runner.js";
import type { Job } from "bullmq";
import { freshDatabase, ROOT, waitFor } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let raw: FastifyInstance;
let app: Client;
let projectId: string;
const processes: ProcessHandle[] = [];

// A database of its own: the leaderboards listed here are this file's, and its in-process orchestrator reconciles
// only this file's searches.
beforeAll(async () => {
  database = await freshDatabase("newcomer");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_newcomer`, MAX_ACTIVE_SEARCHES_PER_PROJECT: "1000" });
  raw = await services.app();
  const key = await services.key("newcomer");
  projectId = key.projectId;
  app = withKey(raw, key.key);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services?.close();
  await database?.drop();
});

const post = (body: unknown) => app.inject({ method: "POST", url: "/v1/searches", payload: body as object });
const get = async (url: string) => {
  const res = await app.inject({ url });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json();
};
function expectField(res: { statusCode: number; body: string; json: () => any }, field: string, message?: RegExp) {
  expect(res.statusCode, res.body).toBe(400);
  const issue = res.json().issues.find((i: { field: string }) => i.field === field);
  expect(issue, res.body).toBeDefined();
  if (message) expect(issue.message).toMatch(message);
}
const LM = {
  space: "transformer-lm", task: "charlm-moby-dick@30steps", strategy: { type: "random" },
  evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 },
  objectiveMetric: "val_bpc", objectiveDirection: "minimize" as const, maxTrials: 4, maxParallel: 2, maxFailures: 4, seed: 1,
};

describe("OpenAPI: options", () => {
  type Schema = { $ref?: string; description?: string; default?: unknown; properties?: Record<string, Schema>; items?: Schema; oneOf?: Schema[]; anyOf?: Schema[]; allOf?: Schema[]; const?: unknown; enum?: unknown[] };
  let doc: { paths: Record<string, any>; components?: { schemas?: Record<string, Schema> } };
  const deref = (s: Schema): Schema => (s.$ref ? doc.components!.schemas![s.$ref.split("/").pop()!]! : s);
  beforeAll(async () => {
    await raw.ready();
    doc = raw.swagger() as typeof doc;
  });
  const body = () => deref(doc.paths["/v1/searches"].post.requestBody.content["application/json"].schema as Schema);
  /** Every option under a schema (union branches, nested objects, array items), with what is wrong with it. */
  function problems(schema: Schema, at: string, out: string[] = []): string[] {
    const s = deref(schema);
    for (const branch of [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])]) problems(branch, at, out);
    for (const [name, p0] of Object.entries(s.properties ?? {})) {
      if (name === "type") continue; // the discriminator
      const p = deref(p0);
      const description = p0.description ?? p.description;
      if (!description) out.push(`${at}.${name}: no description`);
      else if ((p0.default ?? p.default) !== undefined && !/default/i.test(description)) out.push(`${at}.${name}: its default is not in its description (${description})`);
      problems(p, `${at}.${name}`, out);
    }
    if (s.items) problems(s.items, `${at}[]`, out);
    return out;
  }

  it("every option of every strategy, scheduler and evaluator has a description that names its default", () => {
    const b = body();
    expect(["strategy", "scheduler", "evaluator"].flatMap((f) => problems(b.properties![f]!, f))).toEqual([]);
  });

  it("the train evaluator's options, whose defaults depend on the space's family, name each family's default", () => {
    const evaluator = deref(body().properties!.evaluator!);
    const train = (evaluator.oneOf ?? evaluator.anyOf ?? []).map(deref).find((v) => deref(v.properties!.type!).const === "train" || deref(v.properties!.type!).enum?.[0] === "train")!;
    expect(train).toBeDefined();
    const missing: string[] = [];
    for (const [family, { schema }] of Object.entries(TRAIN_FAMILIES)) {
      for (const [name, field] of Object.entries(schema.shape)) {
        // `task` has no default at the API (a task or a dataset is required); every other defaulted field says it.
        if (name === "task" || (field as { def?: { type?: string } }).def?.type !== "default") continue;
        const description = train.properties![name]?.description ?? deref(train.properties![name] ?? {}).description ?? "";
        if (!/default/i.test(description)) missing.push(`${family}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    // The issue's examples, now documented with their defaults.
    for (const name of ["batchSize", "contextLength", "learningRate", "clipNorm", "evalSequences"]) expect(train.properties![name]!.description, name).toMatch(/default/);
  });

  it("budget.maxTrials says plainly what it counts, in the OpenAPI document and in the README", () => {
    const maxTrials = deref(deref(body().properties!.budget!).properties!.maxTrials!);
    expect(maxTrials.description).toMatch(/every trial that finished: completed, pruned .* or failed/);
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).toMatch(/`budget\.maxTrials` counts every trial that finished: completed, pruned/);
  });
});

describe("a running trial shows step x of N, an ETA and its backend; trainers log each trial", () => {
  it("step, budgetSteps and etaSeconds of a running trial; backend per trial and the search's mix", async () => {
    const s = await createSearch(services.db, { projectId }, { name: "running", ...LM });
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    expect(created).toHaveLength(2);
    const [running, queued] = [created[0]!, created[1]!];
    expect(await startTrial(services.db, running.id, "newcomer", "wasm-test")).not.toBeNull();
    await addCurvePoints(services.db, running.id, 1, [{ step: 5, values: { train_loss: 4 } }, { step: 10, values: { train_loss: 3 } }]);
    // It started 10 s ago and is at step 10 of 30: 20 s to go at its rate.
    await services.db.pool.query(`UPDATE trials SET started_at = now() - interval '10 seconds' WHERE id = $1`, [running.id]);

    const trials = (await get(`/v1/searches/${s.id}/trials`)).items as Array<Record<string, unknown>>;
    const r = trials.find((t) => t.id === running.id)!;
    expect(r).toMatchObject({ status: "running", step: 10, budgetSteps: 30, backend: "wasm-test" });
    expect(r.etaSeconds).toBeGreaterThanOrEqual(19);
    expect(r.etaSeconds).toBeLessThanOrEqual(30); // (the request itself comes a little later than the 10 s)
    expect(trials.find((t) => t.id === queued.id)).toMatchObject({ status: "queued", step: null, budgetSteps: 30, etaSeconds: null, backend: null });
    expect(await get(`/v1/trials/${running.id}`)).toMatchObject({ step: 10, budgetSteps: 30, backend: "wasm-test" });

    const detail = await get(`/v1/searches/${s.id}`);
    expect(detail.backends).toEqual({ "wasm-test": 1 });
    expect(detail.progress).toEqual({ completed: 0, pruned: 0, failed: 0, cancelled: 0, running: 1, queued: 1, budget: 4 });
    expect((await app.inject({ method: "POST", url: `/v1/searches/${s.id}/cancel` })).statusCode).toBe(200);
  });

  it("a trainer logs the start and the end of each trial at the default level, naming trial, search, architecture, duration and objective", async () => {
    const s = await createSearch(services.db, { projectId }, {
      name: "logs", space: "nasbench201", task: "logs-test", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
      objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 2, maxParallel: 1, maxFailures: 2, seed: 4,
    });
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    const lines: Array<{ msg: string; extra: Record<string, unknown> }> = [];
    const runner = new TrialRunner({ db: services.db, queues: services.queues, spaces: services.spaces, config: services.config, workerName: "newcomer", backend: "log-test", log: (msg, extra = {}) => lines.push({ msg, extra }) });
    const job = { data: { trialId: created[0]!.id }, stalledCounter: 0, attemptsMade: 0, opts: { attempts: 1 } } as unknown as Job<TrialJob>;
    const outcome = await runner.process(job);
    const trial = await services.db.trial.findUniqueOrThrow({ where: { id: created[0]!.id } });
    expect(outcome, trial.error ?? "").toBe("completed");
    expect(trial.backend).toBe("log-test");
    const who = { trialId: trial.id, searchId: s.id, archHash: trial.archHash };
    expect(lines.find((l) => l.msg === "trial started")?.extra).toMatchObject({ ...who, backend: "log-test" });
    const end = lines.find((l) => l.msg === "trial completed")?.extra;
    expect(end).toMatchObject({ ...who, objective: trial.objective, metric: "test_accuracy" });
    expect(end!.durationS).toEqual(expect.any(Number));
    await runner.close();
    expect((await app.inject({ method: "POST", url: `/v1/searches/${s.id}/cancel` })).statusCode).toBe(200);
  });
});

describe("the budget", () => {
  const nb201 = (name: string, maxTrials: number) =>
    createSearch(services.db, { projectId }, {
      name, space: "nasbench201", task: `budget-${name}`, strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
      objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials, maxParallel: maxTrials, maxFailures: maxTrials, seed: 5,
    });

  it("counts failed trials: 2 completed and 1 failed end a search of maxTrials 3, with no fourth trial", async () => {
    const s = await nb201("failed-count", 3);
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    expect(created).toHaveLength(3);
    await completeTrial(services.db, created[0]!.id, { test_accuracy: 60 }, 60);
    await completeTrial(services.db, created[1]!.id, { test_accuracy: 61 }, 61);
    await finishTrial(services.db, created[2]!.id, "failed", "TrialError: a test failure");
    const outcome = await advanceSearch(services.db, services.spaces, s.id);
    expect(outcome).toMatchObject({ status: "completed", created: [] });
    expect(await get(`/v1/searches/${s.id}`)).toMatchObject({ status: "completed", progress: { completed: 2, failed: 1, budget: 3 } });
  });

  it("a budget spent on failures alone fails the search, saying so", async () => {
    const s = await nb201("all-failed", 2);
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    for (const t of created) await finishTrial(services.db, t.id, "failed", "TrialError: a test failure");
    expect((await advanceSearch(services.db, services.spaces, s.id)).status).toBe("failed");
    expect((await get(`/v1/searches/${s.id}`)).error).toMatch(/all 2 trials of the budget \(budget.maxTrials = 2\) failed/);
  });
});

describe("searches with workers (an orchestrator and a trainer in this process)", () => {
  let asha: { id: string };
  beforeAll(async () => {
    const config = { ...services.config, ORCHESTRATOR_CONCURRENCY: 2, TRAINER_CONCURRENCY: 4, WORKER_NAME: "newcomer", LOG_LEVEL: "silent" as const };
    processes.push(await startOrchestrator(config), await startTrainer(config));
  });

  it("maxTrials counts every trial that finished: an ASHA search of 30 trials ends with completed + pruned + failed = 30", async () => {
    const res = await post({ ...NB201_SEARCH, name: "asha", scheduler: { type: "asha", minBudget: 1, maxBudget: 27, eta: 3 }, budget: { maxTrials: 30, maxParallel: 6 }, seed: 7 });
    expect(res.statusCode, res.body).toBe(201);
    asha = res.json();
    expect(res.json().progress).toEqual({ completed: 0, pruned: 0, failed: 0, cancelled: 0, running: 0, queued: 0, budget: 30 });
    const detail = await waitFor("the ASHA search to complete", async () => {
      const d = await get(`/v1/searches/${asha.id}`);
      return d.status === "completed" ? d : undefined;
    }, 90_000);
    const { completed, pruned, failed } = detail.progress;
    expect(completed + pruned + failed).toBe(30);
    expect(pruned).toBeGreaterThan(0); // most stop at a low rung, and count
    expect(detail.progress).toMatchObject({ cancelled: 0, running: 0, queued: 0, budget: 30 });
    expect(detail.trials.total).toBe(30);

    const trials = (await get(`/v1/searches/${asha.id}/trials?limit=100&sort=objective`)).items;
    expect(trials).toHaveLength(30);
    const best = trials.find((t: { status: string }) => t.status === "completed");
    expect(detail.best).toMatchObject({ trialId: best.id, objective: best.objective });
    for (const t of trials) {
      expect(t.backend, t.id).toEqual(expect.any(String));
      expect(t.budgetSteps).toBe(27);
      expect(t.step).toBe(t.status === "completed" ? 27 : t.metrics.budget);
      expect(t.etaSeconds).toBeNull();
    }
    expect(Object.values(detail.backends as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(30);
    expect(Object.keys(detail.backends)).toEqual([trials[0].backend]);

    // The listing shows the same progress and best, from one statement per page.
    const item = (await get("/v1/searches")).items.find((s: { id: string }) => s.id === asha.id);
    expect(item).toMatchObject({ progress: detail.progress, best: { trialId: best.id, objective: best.objective, architecture: best.architecture }, backends: detail.backends });
  });

  it("GET /v1/searches reads a page of searches with their progress in the same number of statements, whatever the page's size", async () => {
    const pool = (raw as unknown as { services: { db: { pool: { query: (...a: unknown[]) => unknown } } } }).services.db.pool;
    const original = pool.query;
    let statements = 0;
    pool.query = function (this: unknown, ...args: unknown[]) {
      statements++;
      return original.apply(this, args);
    } as typeof original;
    try {
      // The fewest statements over three reads: this process's orchestrator and trainer share the pool, and a
      // statement of theirs can fall inside a read (it only ever adds; a query per search would still show).
      const count = async (limit: number) => {
        let fewest = Infinity;
        for (let i = 0; i < 3; i++) {
          statements = 0;
          const page = await get(`/v1/searches?limit=${limit}`);
          expect(page.items.length).toBe(limit);
          fewest = Math.min(fewest, statements);
        }
        return fewest;
      };
      await count(1); // the key's lookup, cached from then on
      expect(await count(3)).toBe(await count(1));
    } finally {
      pool.query = original;
    }
  });

  it("cancelling a search that already ended is a 409 saying so", async () => {
    const res = await app.inject({ method: "POST", url: `/v1/searches/${asha.id}/cancel` });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/already ended: it is completed/);
  });

  it("seed architectures in the benchmark's string form and the JSON form are proposed first; an invalid one is a 400 naming its decision", async () => {
    const cell = { node1_from0: "nor_conv_3x3", node2_from0: "nor_conv_3x3", node2_from1: "skip_connect", node3_from0: "avg_pool_3x3", node3_from1: "none", node3_from2: "nor_conv_1x1" };
    const json = { ...cell, node1_from0: "nor_conv_1x1" };
    const seeded = { ...NB201_SEARCH, name: "seeded", strategy: { type: "evolution", populationSize: 4, sampleSize: 2, seedArchitectures: [nb201ToString(cell), json] }, budget: { maxTrials: 4, maxParallel: 1 } };
    const res = await post(seeded);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().strategy.seedArchitectures).toEqual([cell, json]);
    const trials = await waitFor("the seeds' trials", async () => {
      const items = (await get(`/v1/searches/${res.json().id}/trials`)).items;
      return items.length >= 2 ? items : undefined;
    }, 30_000);
    expect(trials.slice(0, 2).map((t: { architecture: unknown }) => t.architecture)).toEqual([cell, json]);

    expectField(await post({ ...seeded, strategy: { ...seeded.strategy, seedArchitectures: ["|nor_conv_3x3~0|+|"] } }), "strategy.seedArchitectures.0", /benchmark's string/);
    expectField(await post({ ...seeded, strategy: { ...seeded.strategy, seedArchitectures: [cell, { ...cell, node2_from1: "conv_7x7" }] } }), "strategy.seedArchitectures.1.node2_from1", /must be one of/);
    expectField(await post({ ...seeded, strategy: { ...seeded.strategy, seedArchitectures: [{ ...cell, node4_from0: "none" }] } }), "strategy.seedArchitectures.0.node4_from0", /not a decision/);
  });

  describe("leaderboards", () => {
    beforeAll(async () => {
      // A second task on the same space: a search stored directly, one trial completed.
      const s = await createSearch(services.db, { projectId }, {
        name: "other", space: "nasbench201", task: "cifar10-other", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
        objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 1, maxParallel: 1, maxFailures: 1, seed: 9,
      });
      const { created } = await advanceSearch(services.db, services.spaces, s.id);
      await completeTrial(services.db, created[0]!.id, { test_accuracy: 50 }, 50);
      await app.inject({ method: "POST", url: `/v1/searches/${s.id}/cancel` });
    });

    it("GET /v1/leaderboard/boards lists every (space, task, metric) with its direction and size", async () => {
      const { items } = await get("/v1/leaderboard/boards");
      const cifar = (await get("/v1/leaderboard?space=nasbench201&task=cifar10&limit=1000")).rows.length;
      expect(items).toEqual([
        { space: "nasbench201", task: "budget-failed-count", metric: "test_accuracy", direction: "maximize", entries: 2 },
        { space: "nasbench201", task: "cifar10", metric: "test_accuracy", direction: "maximize", entries: cifar },
        { space: "nasbench201", task: "cifar10-other", metric: "test_accuracy", direction: "maximize", entries: 1 },
        { space: "nasbench201", task: "logs-test", metric: "test_accuracy", direction: "maximize", entries: 1 },
      ]);
      expect(cifar).toBeGreaterThan(0);
      expect((await get("/v1/leaderboard/boards?space=flow-2d")).items).toEqual([]);
    });

    it("no silent default: several tasks and none named is a 400 naming task and listing them; a space's only task is used", async () => {
      expectField(await app.inject({ url: "/v1/leaderboard?space=nasbench201" }), "task", /'cifar10', 'cifar10-other'/);
      const board = await get("/v1/leaderboard?space=nasbench201&task=cifar10");
      expect(board).toMatchObject({ task: "cifar10", metric: "test_accuracy", direction: "maximize" });
      const objectives = board.rows.map((r: { objective: number }) => r.objective);
      expect(objectives).toEqual([...objectives].sort((a, b) => b - a));
      // A space whose searches have one task and metric: those, even before a board has entries; none: nothing.
      expect(await get("/v1/leaderboard?space=transformer-lm")).toEqual({ space: "transformer-lm", task: "charlm-moby-dick@30steps", metric: "val_bpc", direction: "minimize", rows: [] });
      expect(await get("/v1/leaderboard?space=flow-2d")).toEqual({ space: "flow-2d", task: null, metric: null, direction: null, rows: [] });
      expectField(await app.inject({ url: "/v1/leaderboard/pareto?space=nasbench201" }), "task", /'cifar10', 'cifar10-other'/);
      expectField(await app.inject({ url: "/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,params&directions=minimize,maximize" }), "directions", /test_accuracy is maximized/);
    });

    it("an unknown or non-objective metric is a 400 naming metric, not an empty board", async () => {
      expectField(await app.inject({ url: "/v1/leaderboard?space=nasbench201&task=cifar10&metric=test_acc" }), "metric", /'test_acc' is not an objective metric .*'test_accuracy'/);
      expectField(await app.inject({ url: "/v1/leaderboard?space=nasbench201&task=cifar10&metric=sample" }), "metric");
      // A valid objective metric without entries yet: an empty board.
      expect((await get("/v1/leaderboard?space=nasbench201&task=cifar10&metric=params")).rows).toEqual([]);
    });

    it("an objective's direction is fixed per metric: minimising accuracy or maximising a loss is refused at POST /v1/searches", async () => {
      expectField(await post({ ...NB201_SEARCH, objective: { metric: "test_accuracy", direction: "minimize" } }), "objective.direction", /test_accuracy is maximized/);
      expectField(await post({ ...NB201_SEARCH, objective: [{ metric: "test_accuracy", direction: "maximize" }, { metric: "params", direction: "maximize" }] }), "objective.1.direction", /params is minimized/);
      const lm = { name: "lm", space: "transformer-lm", strategy: { type: "random" }, evaluator: LM.evaluator, budget: { maxTrials: 1 } };
      expectField(await post({ ...lm, objective: { metric: "val_bpc", direction: "maximize" } }), "objective.direction", /"direction": "minimize"/);
      // Every metric an evaluator reports as an objective, and every cost known before training, has its direction.
      const metrics = [...EVALUATOR_CATALOGUE.flatMap((e) => e.metrics), ...Object.values(PRE_TRAINING_METRICS).flat()];
      expect(metrics.filter((m) => metricDirection(m) === undefined)).toEqual([]);
    });
  });
});

describe("flow pictures", () => {
  const size = 64;
  const samples = new Float32Array(2000).map((_, i) => Math.sin(i) * 3);
  /** Dark pixels in the label band above [x0, x0 + width). */
  function ink(png: PNG, x0: number, width: number, band: number): number[] {
    const at: number[] = [];
    for (let y = 0; y < band; y++) for (let x = x0; x < x0 + width; x++) if (png.data[4 * (y * png.width + x)]! < 128) at.push(y * png.width + (x - x0));
    return at;
  }

  it("density.png labels its panels: model density, model samples, data", () => {
    const png = PNG.sync.read(densityPng({ extent: 4, size, logDensity: new Float32Array(size * size).fill(-1), samples, data: samples }));
    const band = labelBand(1);
    expect(png.height).toBe(size + band);
    const labels = [0, 1, 2].map((k) => ink(png, k * (size + 4), size, band));
    for (const [k, l] of labels.entries()) expect(l.length, DENSITY_PANELS[k]).toBeGreaterThan(20);
    expect(new Set(labels.map((l) => l.join(","))).size).toBe(3); // three different labels
    expect(DENSITY_PANELS).toEqual(["model density", "model samples", "data"]);
  });

  it("samples.png of a 2-D flow: its samples alone, labelled", () => {
    const png = PNG.sync.read(samplesPng({ extent: 4, size: 256, samples }));
    expect(png.width).toBe(256);
    expect(png.height).toBe(256 + labelBand(2));
    expect(ink(png, 0, 256, labelBand(2)).length).toBeGreaterThan(50);
  });
});

describe("package.json engines", () => {
  /** Parses "x", "x.y", "x.y.z" into [major, minor, patch]. */
  const version = (v: string) => {
    const [a = 0, b = 0, c = 0] = v.trim().replace(/^v/, "").split(".").map(Number);
    return [a, b, c] as const;
  };
  const cmp = (a: readonly number[], b: readonly number[]) => (a[0]! - b[0]!) || (a[1]! - b[1]!) || (a[2]! - b[2]!);
  /** Whether `v` satisfies an npm range of the forms the dependencies use: "a || b", ">=x <y", "^x", "x". */
  function satisfies(v: readonly number[], range: string): boolean {
    return range.split("||").some((set) =>
      set
        .trim()
        .replace(/(>=|<=|>|<|\^|~)\s+/g, "$1")
        .split(/\s+/)
        .filter(Boolean)
        .every((c) => {
          if (c === "*" || c === "x") return true;
          const m = /^(>=|<=|>|<|\^|~)?(.*)$/.exec(c)!;
          const w = version(m[2]!);
          const parts = m[2]!.split(".").length;
          switch (m[1]) {
            case ">=": return cmp(v, w) >= 0;
            case ">": return cmp(v, w) > 0;
            case "<": return cmp(v, w) < 0;
            case "<=": return cmp(v, w) <= 0;
            case "^": return v[0] === w[0] && cmp(v, w) >= 0;
            case "~": return v[0] === w[0] && v[1] === w[1] && cmp(v, w) >= 0;
            default: return parts === 1 ? v[0] === w[0] : parts === 2 ? v[0] === w[0] && v[1] === w[1] : cmp(v, w) === 0;
          }
        }),
    );
  }
  /** The lowest version of each alternative of a range ("^22.13 || >=24" → 22.13.0, 24.0.0). */
  const lowest = (range: string) => range.split("||").map((set) => version(set.trim().replace(/^(>=|\^|~)\s*/, "").split(/\s+/)[0]!));

  it("declares a Node.js range every installed dependency accepts, and the README says the same", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const range: string = pkg.engines.node;
    const installed: Array<{ name: string; range: string }> = [];
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean; dev?: boolean }> };
    for (const [where, p] of Object.entries(lock.packages)) {
      const node = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
      if (where && node && !p.optional) installed.push({ name: where.replace(/^.*node_modules\//, ""), range: node });
    }
    expect(installed.length).toBeGreaterThan(10);
    for (const v of lowest(range)) expect(installed.filter((d) => !satisfies(v, d.range)).map((d) => `${d.name} wants ${d.range}, not ${v.join(".")}`)).toEqual([]);
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(`Node.js \`${range}\``);
  });
});
