/**
 * Multi-objective searches over REST, in-process (API, orchestrator and trainer on this run's PostgreSQL and Redis),
 * on NAS-Bench-201 with the table's accuracy and the cells' computed FLOPs and parameters: validation of objective
 * lists and constraints (400s naming the field), constraints on costs known before training kept by the strategy
 * (nothing infeasible is trained) or refused before training (a strategy that does not keep them), constraints on
 * measured metrics making trials infeasible, the search's Pareto front and hypervolume, the leaderboard's front
 * across searches, and a second project seeing none of it.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { hypervolume, paretoFront } from "../../src/core/pareto.js";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { nb201Cost } from "../../src/spaces/nasbench201-cost.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
const processes: ProcessHandle[] = [];
let a: Client;
let b: Client;

const TWO_OBJECTIVES = [
  { metric: "test_accuracy", direction: "maximize" },
  { metric: "flops", direction: "minimize" },
];

beforeAll(async () => {
  database = await freshDatabase("pareto");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_pareto` });
  const config = { ...services.config, ORCHESTRATOR_CONCURRENCY: 2, TRAINER_CONCURRENCY: 8, WORKER_NAME: "pareto", LOG_LEVEL: "silent" as const };
  processes.push(await startOrchestrator(config), await startTrainer(config));
  const app = await services.app();
  a = withKey(app, (await services.key("pareto-a")).key);
  b = withKey(app, (await services.key("pareto-b")).key);
}, 60_000);
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services.close();
  await database.drop();
});

async function runSearch(client: Client, body: Record<string, unknown>) {
  const res = await client.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, ...body } });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id as string;
  const search = await waitFor("search completion", async () => {
    const s = (await client.inject(`/v1/searches/${id}`)).json();
    return s.status === "completed" || s.status === "failed" ? s : undefined;
  }, 60_000);
  const trials = (await client.inject(`/v1/searches/${id}/trials?limit=1000`)).json().items as Array<{ id: string; status: string; error: string | null; metrics: Record<string, number>; archHash: string; architecture: Record<string, string> }>;
  return { id, search, trials };
}

/** Non-dominated (accuracy up, FLOPs down) among the given trials, by id. */
function frontIds(trials: Array<{ id: string; metrics: Record<string, number> }>): string[] {
  return paretoFront(trials.map((t) => ({ scores: [t.metrics.test_accuracy!, -t.metrics.flops!] }))).map((i) => trials[i]!.id).sort();
}

describe("submitting a multi-objective search", () => {
  it.each([
    [{ objective: [TWO_OBJECTIVES[0], { metric: "latency", direction: "minimize" }] }, "objective.1.metric"],
    [{ objective: [TWO_OBJECTIVES[0], { metric: "flops", direction: "down" }] }, "objective.1.direction"],
    [{ objective: [TWO_OBJECTIVES[0], { metric: "flops", direction: "minimize", weight: 2 }] }, "objective.1.weight"],
    [{ objective: [TWO_OBJECTIVES[0], TWO_OBJECTIVES[0]] }, "objective.1.metric"],
    [{ objective: [] }, "objective"],
    [{ objective: TWO_OBJECTIVES, constraints: [{ metric: "params" }] }, "constraints.0"],
    [{ objective: TWO_OBJECTIVES, constraints: [{ metric: "params", max: 1e6 }, { metric: "params", min: 10, max: 5 }] }, "constraints.1"],
    [{ objective: TWO_OBJECTIVES, constraints: [{ metric: "energy", max: 3 }] }, "constraints.0.metric"],
    [{ objective: TWO_OBJECTIVES, referencePoint: [80] }, "referencePoint"],
    [{ objective: TWO_OBJECTIVES, strategy: { type: "reinforce" } }, "strategy.type"],
  ])("refuses %j naming %s", async (body, field) => {
    const res = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, ...body } });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().issues.map((i: { field: string }) => i.field)).toContain(field);
  });

  it("keeps a single objective as it was, and shows every objective, constraint and the reference point", async () => {
    const one = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, budget: { maxTrials: 1, maxParallel: 1 } } });
    expect(one.json()).toMatchObject({ objective: NB201_SEARCH.objective, objectives: [NB201_SEARCH.objective], constraints: [], referencePoint: null, pareto: null });
    const two = await a.inject({
      method: "POST",
      url: "/v1/searches",
      payload: { ...NB201_SEARCH, objective: TWO_OBJECTIVES, constraints: [{ metric: "params", max: 5e5 }], referencePoint: [80, 2e8], budget: { maxTrials: 1, maxParallel: 1 } },
    });
    expect(two.statusCode, two.body).toBe(201);
    expect(two.json()).toMatchObject({ objective: TWO_OBJECTIVES[0], objectives: TWO_OBJECTIVES, constraints: [{ metric: "params", max: 5e5 }], referencePoint: [80, 2e8] });
    expect(two.json().pareto).toMatchObject({ size: 0, url: `/v1/searches/${two.json().id}/pareto` });
  });
});

describe("a search of two objectives under a parameter constraint", () => {
  let run: Awaited<ReturnType<typeof runSearch>>;
  const MAX_PARAMS = 600_000;

  beforeAll(async () => {
    run = await runSearch(a, {
      name: "nb201-nsga",
      strategy: { type: "evolution", populationSize: 10, sampleSize: 5 },
      objective: TWO_OBJECTIVES,
      constraints: [{ metric: "params", max: MAX_PARAMS }],
      budget: { maxTrials: 40, maxParallel: 4 },
    });
  }, 90_000);

  it("trains only feasible cells: every trial completed, with its computed FLOPs and parameters among its metrics", () => {
    expect(run.search.status).toBe("completed");
    expect(run.trials).toHaveLength(40);
    for (const t of run.trials) {
      expect(t.status).toBe("completed");
      expect({ flops: t.metrics.flops, params: t.metrics.params }).toEqual(nb201Cost(t.architecture));
      expect(t.metrics.params).toBeLessThanOrEqual(MAX_PARAMS);
    }
  });

  it("serves the non-dominated trials with their objective vectors, and the hypervolume against the derived reference point", async () => {
    const pareto = (await a.inject(`/v1/searches/${run.id}/pareto`)).json();
    expect(pareto.objectives).toEqual(TWO_OBJECTIVES);
    expect(pareto.completed).toBe(40);
    expect(pareto.feasible).toBe(40);
    expect(pareto.front.map((f: { trialId: string }) => f.trialId).sort()).toEqual(frontIds(run.trials));
    for (const f of pareto.front) expect(f.values).toEqual([f.metrics.test_accuracy, f.metrics.flops]);
    // Best accuracy first; along the front accuracy falls as FLOPs fall.
    const accuracies = pareto.front.map((f: { values: number[] }) => f.values[0]);
    expect(accuracies).toEqual([...accuracies].sort((x, y) => y - x));
    // Reference: worst accuracy and FLOPs of the trials, 10 % of their range further.
    const acc = run.trials.map((t) => t.metrics.test_accuracy!);
    const flops = run.trials.map((t) => t.metrics.flops!);
    const ref = [Math.min(...acc) - 0.1 * (Math.max(...acc) - Math.min(...acc)), Math.max(...flops) + 0.1 * (Math.max(...flops) - Math.min(...flops))];
    expect(pareto.referencePoint[0]).toBeCloseTo(ref[0]!, 9);
    expect(pareto.referencePoint[1]).toBeCloseTo(ref[1]!, 3);
    const expected = hypervolume(pareto.front.map((f: { values: number[] }) => [f.values[0]!, -f.values[1]!]), [ref[0]!, -ref[1]!]);
    expect(pareto.hypervolume).toBeGreaterThan(0);
    expect(pareto.hypervolume / expected).toBeCloseTo(1, 9);
    const detail = (await a.inject(`/v1/searches/${run.id}`)).json();
    expect(detail.pareto).toEqual({ size: pareto.front.length, hypervolume: pareto.hypervolume, referencePoint: pareto.referencePoint, url: `/v1/searches/${run.id}/pareto` });
  });

  it("the leaderboard's front over the space and task takes the directions of that search, one row per architecture", async () => {
    const board = (await a.inject("/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,flops")).json();
    expect(board.objectives).toEqual(TWO_OBJECTIVES);
    // The front of every completed trial of the project's nasbench201 searches (the earlier ones of this file too).
    const searches = (await a.inject("/v1/searches?space=nasbench201&limit=1000")).json().items as Array<{ id: string }>;
    const all = (await Promise.all(searches.map(async (s) => (await a.inject(`/v1/searches/${s.id}/trials?status=completed&limit=1000`)).json().items))).flat();
    const front = new Set(frontIds(all).map((id) => all.find((t) => t.id === id)!.archHash));
    const hashes = board.rows.map((r: { archHash: string }) => r.archHash);
    expect(new Set(hashes)).toEqual(front);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(board.hypervolume).toBeGreaterThan(0);
    // Defaults: the metrics of the newest search with several objectives.
    expect((await a.inject("/v1/leaderboard/pareto?space=nasbench201")).json().objectives).toEqual(TWO_OBJECTIVES);
    const unknown = await a.inject("/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,params");
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().issues[0].field).toBe("directions");
    const given = (await a.inject("/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,params&directions=maximize,minimize")).json();
    expect(given.rows.length).toBeGreaterThan(0);
  });

  it("a second project's key gets 404 for the search's front and an empty leaderboard front", async () => {
    expect((await b.inject(`/v1/searches/${run.id}/pareto`)).statusCode).toBe(404);
    const board = await b.inject("/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,flops&directions=maximize,minimize");
    expect(board.statusCode).toBe(200);
    expect(board.json().rows).toEqual([]);
  });
});

describe("constraints", () => {
  it("on a measured metric: trials below the bound are completed but infeasible, on no front", async () => {
    const run = await runSearch(a, { strategy: { type: "random" }, objective: TWO_OBJECTIVES, constraints: [{ metric: "test_accuracy", min: 90 }], budget: { maxTrials: 30, maxParallel: 6 }, seed: 5 });
    const pareto = (await a.inject(`/v1/searches/${run.id}/pareto`)).json();
    const feasible = run.trials.filter((t) => t.metrics.test_accuracy! >= 90);
    expect(feasible.length).toBeGreaterThan(0);
    expect(feasible.length).toBeLessThan(30);
    expect(pareto.feasible).toBe(feasible.length);
    expect(pareto.front.map((f: { trialId: string }) => f.trialId).sort()).toEqual(frontIds(feasible));
    // The bound on the maximised metric is the reference point's accuracy.
    expect(pareto.referencePoint[0]).toBe(90);
  });

  it("on a cost known before training, with a strategy that does not keep it: the proposal is refused, never trained", async () => {
    const run = await runSearch(a, {
      strategy: { type: "local-search", initialSamples: 5 },
      constraints: [{ metric: "params", max: 300_000 }],
      budget: { maxTrials: 15, maxParallel: 3, maxFailures: 1000 },
      seed: 2,
    });
    expect(run.search.status).toBe("completed");
    const refused = run.trials.filter((t) => t.status === "failed");
    expect(refused.length).toBeGreaterThan(0);
    for (const t of refused) {
      expect(t.error).toMatch(/^TrialError: refused before training: params = \d+ exceeds the search's constraint max 300000/);
      expect(t.metrics).toBeNull();
    }
    for (const t of run.trials.filter((x) => x.status === "completed")) expect(t.metrics.params).toBeLessThanOrEqual(300_000);
  });
});
