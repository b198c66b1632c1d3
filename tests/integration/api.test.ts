/**
 * The REST API in-process (app.inject) against the real PostgreSQL and Redis of this test run.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { completeTrial } from "../../src/db/trials.js";
import { freshDatabase } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let app: Client;
let database: Awaited<ReturnType<typeof freshDatabase>>;

// A database of its own: the leaderboard and listings here must not see other files' searches.
beforeAll(async () => {
  database = await freshDatabase("api");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_api` });
  app = withKey(await services.app(), (await services.key("api-a")).key);
});
afterAll(async () => {
  await app.close();
  await services.close();
  await database.drop();
});

const LM_SEARCH = {
  name: "lm", space: "transformer-lm", strategy: { type: "random" },
  evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 },
  objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 3,
};

const post = (body: unknown) => app.inject({ method: "POST", url: "/v1/searches", payload: body as object });

describe("POST /v1/searches", () => {
  it("creates the search of the issue (201) and enqueues its first advance", async () => {
    const res = await post(NB201_SEARCH);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: "nb201-random", space: "nasbench201", task: "cifar10", status: "queued", seed: 1, budget: { maxTrials: 200, maxParallel: 8, maxFailures: 200 } });
    expect(body.trials.total).toBe(0);
    expect(body.best).toBeNull();
    expect(res.headers.location).toBe(`/v1/searches/${body.id}`);
    expect(await services.queues.advance.getJobCounts("waiting", "active", "prioritized")).not.toEqual({ waiting: 0, active: 0, prioritized: 0 });
  });

  const cases: Array<[string, unknown, number, string]> = [
    ["unknown space", { ...NB201_SEARCH, space: "nope" }, 400, "space"],
    ["unknown strategy", { ...NB201_SEARCH, strategy: { type: "telepathy" } }, 400, "strategy.type"],
    ["negative budget", { ...NB201_SEARCH, budget: { maxTrials: -5, maxParallel: 8 } }, 400, "budget.maxTrials"],
    ["wrong type", { ...NB201_SEARCH, seed: "one" }, 400, "seed"],
    ["missing field", { ...NB201_SEARCH, objective: undefined }, 400, "objective"],
    ["unknown field (a typo)", { ...NB201_SEARCH, budget: { maxTrails: 5 } }, 400, "budget.maxTrails"],
    ["bad strategy option", { ...NB201_SEARCH, strategy: { type: "random", maxTriesPerProposal: 0 } }, 400, "strategy.maxTriesPerProposal"],
    ["metric the evaluator does not report", { ...NB201_SEARCH, objective: { metric: "val_bpc", direction: "minimize" } }, 400, "objective.metric"],
    ["bad direction", { ...NB201_SEARCH, objective: { metric: "test_accuracy", direction: "up" } }, 400, "objective.direction"],
    ["an evaluator that cannot score the space", { ...NB201_SEARCH, evaluator: { type: "train", task: "charlm-moby-dick" }, objective: { metric: "val_bpc", direction: "minimize" } }, 400, "evaluator.type"],
    ["a task of another family", { ...LM_SEARCH, evaluator: { type: "train", task: "8gaussians" } }, 400, "evaluator.task"],
    ["a metric the task does not report", { ...LM_SEARCH, objective: { metric: "gap_nats", direction: "minimize" } }, 400, "objective.metric"],
    ["a bad training option", { ...LM_SEARCH, evaluator: { type: "train", task: "charlm-moby-dick", batchSize: 0 } }, 400, "evaluator.batchSize"],
    ["an option of another family", { ...LM_SEARCH, evaluator: { type: "train", task: "charlm-moby-dick", resolution: 14 } }, 400, "evaluator"],
  ];
  for (const [what, body, status, field] of cases) {
    it(`rejects ${what} with ${status} naming ${field}`, async () => {
      const res = await post(body);
      expect(res.statusCode).toBe(status);
      const err = res.json();
      expect(err.error).toBe("validation_error");
      expect(err.issues.map((i: { field: string }) => i.field)).toContain(field);
      expect(res.body).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    });
  }

  it("accepts the training requests of the Transformer and flow issues, keying the leaderboard by task and budget", async () => {
    const lm = await post(LM_SEARCH);
    expect(lm.statusCode, lm.body).toBe(201);
    expect(lm.json().task).toBe("charlm-moby-dick@30steps");
    const flow = await post({ name: "flow-smoke", space: "flow-2d", strategy: { type: "random" }, evaluator: { type: "train", task: "8gaussians", budget: { steps: 200 } }, objective: { metric: "gap_nats", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 5 });
    expect(flow.statusCode, flow.body).toBe(201);
    expect(flow.json().task).toBe("8gaussians@200steps");
  });

  it("rejects malformed JSON with 400", async () => {
    const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": "application/json" }, payload: '{"name": ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe("invalid_json");
  });

  it("rejects an oversized body with 413", async () => {
    const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": "application/json" }, payload: JSON.stringify({ ...NB201_SEARCH, name: "x".repeat(2_000_000) }) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe("payload_too_large");
  });

  it("rejects a non-JSON body with 415", async () => {
    const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": "text/plain" }, payload: "hello" });
    expect(res.statusCode).toBe(415);
  });
});

describe("reading searches and trials", () => {
  let searchId: string;

  beforeAll(async () => {
    const res = await post({ ...NB201_SEARCH, name: "read-test", budget: { maxTrials: 30, maxParallel: 30 } });
    searchId = res.json().id;
    const { created } = await advanceSearch(services.db, services.spaces, searchId);
    expect(created).toHaveLength(30);
    // Complete 20 trials with made-up objectives in a known order.
    for (let i = 0; i < 20; i++) await completeTrial(services.db, created[i]!.id, { test_accuracy: 50 + ((i * 7) % 20) }, 50 + ((i * 7) % 20));
  });

  it("GET /v1/searches/:id reports counts, best trial and best-so-far in completion order", async () => {
    const body = (await app.inject({ url: `/v1/searches/${searchId}` })).json();
    expect(body.status).toBe("running");
    expect(body.trials).toMatchObject({ total: 30, queued: 10, completed: 20 });
    expect(body.best.objective).toBe(69);
    const expected: number[] = [];
    let best = -Infinity;
    for (let i = 0; i < 20; i++) expected.push((best = Math.max(best, 50 + ((i * 7) % 20))));
    expect(body.bestSoFar).toEqual(expected);
  });

  it("GET /v1/searches/:id/trials filters, sorts best-first and pages with a cursor", async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { statusCode: number; json: () => any } = await app.inject({ url: `/v1/searches/${searchId}/trials?status=completed&sort=objective&limit=7${cursor ? `&cursor=${cursor}` : ""}` });
      expect(res.statusCode).toBe(200);
      const page: { items: Array<{ objective: number }>; nextCursor: string | null } = res.json();
      seen.push(...page.items.map((t: { objective: number }) => t.objective));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(20);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    const queued = (await app.inject({ url: `/v1/searches/${searchId}/trials?status=queued&limit=100` })).json();
    expect(queued.items).toHaveLength(10);
  });

  it("GET /v1/trials/:id returns the trial with its curve and artifacts", async () => {
    const list = (await app.inject({ url: `/v1/searches/${searchId}/trials?status=completed&limit=1` })).json();
    const res = await app.inject({ url: `/v1/trials/${list.items[0].id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: list.items[0].id, status: "completed", curve: [], artifacts: [] });
  });

  it("GET /v1/searches pages newest first", async () => {
    const first = (await app.inject({ url: "/v1/searches?limit=1" })).json();
    expect(first.items).toHaveLength(1);
    expect(first.items[0].id).toBe(searchId);
    const second = (await app.inject({ url: `/v1/searches?limit=1&cursor=${first.nextCursor}` })).json();
    expect(second.items[0].id).not.toBe(searchId);
  });

  it("GET /v1/leaderboard ranks one row per architecture", async () => {
    const res = await app.inject({ url: "/v1/leaderboard?space=nasbench201&task=cifar10&limit=5" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.metric).toBe("test_accuracy");
    expect(body.rows.map((r: { objective: number }) => r.objective)).toEqual([69, 68, 67, 66, 65]);
    expect(new Set(body.rows.map((r: { archHash: string }) => r.archHash)).size).toBe(5);
  });

  it("POST /v1/searches/:id/cancel cancels unfinished trials; a search that already ended (cancelled included) is 409", async () => {
    const res = await app.inject({ method: "POST", url: `/v1/searches/${searchId}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: "cancelled", trials: { queued: 0, cancelled: 10, completed: 20 } });
    expect((await app.inject({ method: "POST", url: `/v1/searches/${searchId}/cancel` })).statusCode).toBe(409);
  });

  it("unknown ids are 404, malformed ids 400", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const url of [`/v1/searches/${missing}`, `/v1/trials/${missing}`, `/v1/searches/${missing}/trials`]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error).toBe("not_found");
    }
    expect((await app.inject({ method: "POST", url: `/v1/searches/${missing}/cancel` })).statusCode).toBe(404);
    const bad = await app.inject({ url: "/v1/searches/123" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0]).toMatchObject({ field: "id", in: "params" });
    expect((await app.inject({ url: "/v1/nothing" })).statusCode).toBe(404);
  });

  it("bad query parameters are 400 naming the parameter", async () => {
    const res = await app.inject({ url: `/v1/searches/${searchId}/trials?status=exploded` });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0]).toMatchObject({ field: "status", in: "querystring" });
    expect((await app.inject({ url: "/v1/leaderboard" })).json().issues[0].field).toBe("space");
  });
});

describe("search spaces, health and docs", () => {
  it("lists and shows search spaces", async () => {
    const list = (await app.inject({ url: "/v1/search-spaces" })).json();
    expect(list.items.find((s: { id: string }) => s.id === "nasbench201")).toMatchObject({ family: "nasbench201", size: 15625, decisions: 6 });
    const one = (await app.inject({ url: "/v1/search-spaces/nasbench201" })).json();
    expect(one.decisions).toHaveLength(6);
    expect((await app.inject({ url: "/v1/search-spaces/nope" })).statusCode).toBe(404);
  });

  it("healthz and readyz answer", async () => {
    expect((await app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    expect((await app.inject({ url: "/readyz" })).json()).toEqual({ status: "ready", postgres: "ok", redis: "ok" });
  });

  it("serves an OpenAPI document generated from the same schemas", async () => {
    const res = await app.inject({ url: "/docs/json" });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/searches", "/v1/searches/{id}", "/v1/searches/{id}/trials", "/v1/trials/{id}", "/v1/leaderboard", "/v1/search-spaces", "/healthz", "/readyz"]));
    expect(JSON.stringify(doc.paths["/v1/searches"].post.requestBody)).toContain("maxParallel");
    expect((await app.inject({ url: "/docs" })).statusCode).toBeLessThan(400);
  });
});
