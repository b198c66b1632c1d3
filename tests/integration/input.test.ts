/**
 * Bad input gets a 4xx naming the field, never a 500 and never a silently changed request: numbers PostgreSQL
 * cannot store, NUL and lone surrogates (which text and jsonb refuse), nesting that overflows a recursive walker,
 * unknown option keys, unbounded options, bodies in another charset, and requests that never finish arriving.
 * In-process (app.inject) against the real PostgreSQL and Redis of this run; the timeout test listens on a port.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { startApi } from "../../src/processes.js";
import { freshDatabase } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let app: Client;
let key: string;
let database: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  database = await freshDatabase("input");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_input`, MAX_ACTIVE_SEARCHES_PER_PROJECT: "1000" });
  key = (await services.key("input")).key;
  app = withKey(await services.app(), key);
});
afterAll(async () => {
  await app.close();
  await services.close();
  await database.drop();
});

const JSON_TYPE = { "content-type": "application/json" };
const post = (body: unknown) => app.inject({ method: "POST", url: "/v1/searches", payload: body as object });
/** NB201_SEARCH with its strategy replaced by raw JSON text (for payloads a client library cannot stringify). */
const withRawStrategy = (strategy: string) => JSON.stringify(NB201_SEARCH).replace('"strategy":{"type":"random"}', `"strategy":${strategy}`);
const nested = (depth: number) => '{"x":'.repeat(depth) + "1" + "}".repeat(depth);

async function expectFieldError(res: { statusCode: number; body: string; json: () => any }, field: string, status = 400) {
  expect(res.statusCode, res.body).toBe(status);
  const err = res.json();
  expect(err.error).toBe("validation_error");
  expect(err.issues.map((i: { field: string }) => i.field)).toContain(field);
  expect((await app.inject({ url: "/healthz" })).statusCode).toBe(200);
}

describe("values PostgreSQL cannot store are a 400 naming the field (they were 500s)", () => {
  it("budget.maxFailures beyond an integer column", async () => {
    await expectFieldError(await post({ ...NB201_SEARCH, budget: { maxTrials: 5, maxParallel: 1, maxFailures: 1e12 } }), "budget.maxFailures");
  });

  it("NUL in the name, in a seed architecture's key, in an artifact name and in query parameters", async () => {
    await expectFieldError(await post({ ...NB201_SEARCH, name: "a\u0000b" }), "name");
    await expectFieldError(await post({ ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: [{ "a\u0000b": 1 }] } }), "strategy.seedArchitectures.0");
    await expectFieldError(await post({ ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: [{ a: "x\u0000" }] } }), "strategy.seedArchitectures.0.a");
    await expectFieldError(await app.inject({ url: "/v1/trials/00000000-0000-4000-8000-000000000000/artifacts/a%00b" }), "name");
    await expectFieldError(await app.inject({ url: "/v1/leaderboard?space=a%00b" }), "space");
    await expectFieldError(await app.inject({ url: "/v1/leaderboard?space=nasbench201&task=a%00b" }), "task");
    await expectFieldError(await app.inject({ url: "/v1/leaderboard?space=nasbench201&task=cifar10&metric=a%00b" }), "metric");
    await expectFieldError(await app.inject({ url: "/v1/searches?space=a%00b" }), "space");
    await expectFieldError(await app.inject({ url: "/v1/search-spaces/a%00b" }), "id");
  });

  it("lone UTF-16 surrogates (jsonb refuses them; text would store U+FFFD instead)", async () => {
    await expectFieldError(await post({ ...NB201_SEARCH, name: "a\ud800b" }), "name");
    await expectFieldError(await post({ ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: [{ "a\udc00": 1 }] } }), "strategy.seedArchitectures.0");
  });

  it("a strategy nested 10,000 deep (Prisma's serializer overflowed the stack)", async () => {
    const res = await app.inject({ method: "POST", url: "/v1/searches", headers: JSON_TYPE, payload: withRawStrategy(`{"type":"evolution","seedArchitectures":[${nested(10_000)}]}`) });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().issues[0].field).toMatch(/^strategy\.seedArchitectures\.0\.x\.x/);
    expect(res.json().message).toContain("nested deeper than");
    const deepUnknown = await app.inject({ method: "POST", url: "/v1/searches", headers: JSON_TYPE, payload: withRawStrategy(`{"type":"random","deep":${nested(10_000)}}`) });
    expect(deepUnknown.statusCode).toBe(400);
    // An architecture's ordinary nesting passes the depth check: this one is refused for its decision, not its depth.
    const shallow = await post({ ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: [{ a: { b: { c: [[1]] } } }] } });
    expect(shallow.statusCode).toBe(400);
    expect(shallow.json().issues[0].field).toMatch(/^strategy\.seedArchitectures\.0\./);
    expect(shallow.json().message).not.toContain("nested deeper than");
  });

  it("control characters in names and identifiers", async () => {
    await expectFieldError(await post({ ...NB201_SEARCH, name: "line\nbreak" }), "name");
    await expectFieldError(await post({ ...NB201_SEARCH, name: "esc\u001b[31m" }), "name");
    await expectFieldError(await post({ ...NB201_SEARCH, objective: { metric: "test_\u0007accuracy", direction: "maximize" } }), "objective.metric");
    // Unicode that is not a control character is a fine name: RTL marks, emoji, CJK.
    const res = await post({ ...NB201_SEARCH, name: "\u200fבדיקה 🧪 テスト" });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().name).toBe("\u200fבדיקה 🧪 テスト");
  });

  it("long strings: names and query parameters are bounded", async () => {
    await expectFieldError(await post({ ...NB201_SEARCH, name: "x".repeat(201) }), "name");
    await expectFieldError(await post({ ...NB201_SEARCH, space: "x".repeat(201) }), "space");
    await expectFieldError(await app.inject({ url: `/v1/leaderboard?space=${"x".repeat(201)}` }), "space");
    await expectFieldError(await app.inject({ url: `/v1/leaderboard?space=nasbench201&task=${"x".repeat(201)}` }), "task");
    await expectFieldError(await app.inject({ url: `/v1/leaderboard?space=nasbench201&metric=${"x".repeat(201)}` }), "metric");
    await expectFieldError(await app.inject({ url: `/v1/searches?space=${"x".repeat(201)}` }), "space");
    await expectFieldError(await app.inject({ url: `/v1/searches?cursor=${"x".repeat(5000)}` }), "cursor");
    await expectFieldError(await app.inject({ url: "/v1/searches?limit=1001" }), "limit");
    await expectFieldError(await app.inject({ url: "/v1/leaderboard?space=nasbench201&limit=1001" }), "limit");
  });
});

describe("options: unknown keys are rejected, numbers are bounded", () => {
  const cases: Array<[string, unknown, string]> = [
    ["a strategy option typo", { ...NB201_SEARCH, strategy: { type: "evolution", populationSze: 50 } }, "strategy.populationSze"],
    ["an unknown option of another strategy", { ...NB201_SEARCH, strategy: { type: "random", populationSize: 50 } }, "strategy.populationSize"],
    ["an evaluator option typo", { ...NB201_SEARCH, evaluator: { type: "benchmark", latncyMs: 5 } }, "evaluator.latncyMs"],
    ["a train option typo", { ...NB201_SEARCH, space: "transformer-lm", evaluator: { type: "train", task: "assoc-recall", recall: { keyz: 4 } }, objective: { metric: "val_loss", direction: "minimize" } }, "evaluator.recall.keyz"],
    ["a scheduler option typo", { ...NB201_SEARCH, scheduler: { type: "asha", minBudget: 1, maxBudget: 27, etta: 3 } }, "scheduler.etta"],
    ["curveNoise 1e308", { ...NB201_SEARCH, evaluator: { type: "benchmark", curveNoise: 1e308 } }, "evaluator.curveNoise"],
    ["scheduler budgets of 1e308", { ...NB201_SEARCH, scheduler: { type: "asha", minBudget: 1, maxBudget: 1e308 } }, "scheduler.maxBudget"],
    ["a scheduler ladder of thousands of rungs", { ...NB201_SEARCH, scheduler: { type: "hyperband", minBudget: 1e-300, maxBudget: 1e9, eta: 2 } }, "scheduler.minBudget"],
    ["50,000 seed architectures", { ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: Array.from({ length: 50_000 }, () => ({})) } }, "strategy.seedArchitectures"],
    ["a training time limit of 1e300 seconds", { ...NB201_SEARCH, space: "flow-2d", evaluator: { type: "train", task: "8gaussians", budget: { steps: 10, seconds: 1e300 } }, objective: { metric: "gap_nats", direction: "minimize" } }, "evaluator.budget.seconds"],
    ["a darts option without bound", { ...NB201_SEARCH, space: "transformer-lm", strategy: { type: "darts", alphaEvery: 1e15 }, evaluator: { type: "train", task: "charlm-moby-dick" }, objective: { metric: "val_bpc", direction: "minimize" } }, "strategy.alphaEvery"],
  ];
  for (const [what, body, field] of cases) {
    it(`rejects ${what}, naming ${field}`, async () => {
      await expectFieldError(await post(body), field);
    });
  }

  it("the typo no longer creates a search that runs with the default", async () => {
    const before = await services.db.search.count();
    await post({ ...NB201_SEARCH, strategy: { type: "evolution", populationSze: 50 } });
    expect(await services.db.search.count()).toBe(before);
    const ok = await post({ ...NB201_SEARCH, strategy: { type: "evolution", populationSize: 50 } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().strategy.populationSize).toBe(50);
  });

  it("the requests of the README and the tests stay valid", async () => {
    for (const body of [
      NB201_SEARCH,
      { ...NB201_SEARCH, scheduler: { type: "asha", minBudget: 10, maxBudget: 270, eta: 3 } },
      { ...NB201_SEARCH, scheduler: { type: "hyperband", minBudget: 1, maxBudget: 27 } },
      { ...NB201_SEARCH, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 150, curveNoise: 2 } },
      { ...NB201_SEARCH, space: "transformer-lm", strategy: { type: "darts", order: 1, supernetSteps: 40, deriveTop: 2 }, evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 }, objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 } },
      { ...NB201_SEARCH, space: "transformer-lm", evaluator: { type: "train", task: "assoc-recall", recall: { keys: 8, values: 8, pairs: 4 } }, objective: { metric: "accuracy", direction: "maximize" } },
      { ...NB201_SEARCH, space: "flow-2d", evaluator: { type: "train", task: "8gaussians", budget: { steps: 200 } }, objective: { metric: "gap_nats", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 } },
    ]) {
      const res = await post(body);
      expect(res.statusCode, `${JSON.stringify(body)}: ${res.body}`).toBe(201);
    }
  });
});

describe("bodies: JSON in UTF-8 only", () => {
  it("a body declared in another charset is a 415 (it was parsed as UTF-8)", async () => {
    for (const type of ["application/json; charset=utf-16", "application/json;charset=UTF-16LE", 'application/json; charset="iso-8859-1"']) {
      const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": type }, payload: JSON.stringify(NB201_SEARCH) });
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error).toBe("unsupported_media_type");
    }
    const utf16 = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": "application/json; charset=utf-16" }, payload: Buffer.from(JSON.stringify(NB201_SEARCH), "utf16le") });
    expect(utf16.statusCode).toBe(415);
  });

  it("UTF-8 declared or not is accepted", async () => {
    for (const type of ["application/json", "application/json; charset=utf-8", 'application/json; charset="UTF-8"', "application/json;charset=utf8"]) {
      const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": type }, payload: JSON.stringify(NB201_SEARCH) });
      expect(res.statusCode, `${type}: ${res.body}`).toBe(201);
    }
  });

  it("a path that is not valid percent-encoding (400), or a path segment too long (414), is answered in the API's error shape", async () => {
    const res = await app.inject({ url: "/v1/search-spaces/%E0%A4%A" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: "bad_url", message: expect.any(String) });
    const long = await app.inject({ url: `/v1/search-spaces/${"x".repeat(150)}` });
    expect(long.statusCode).toBe(414);
    expect(long.json()).toMatchObject({ error: "uri_too_long", message: expect.any(String) });
  });

  it("a body with thousands of wrong items answers a bounded list of issues", async () => {
    const res = await post({ ...NB201_SEARCH, strategy: { type: "evolution", seedArchitectures: Array.from({ length: 1000 }, () => 1) } });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.length).toBeLessThanOrEqual(20);
    expect(res.json().message).toContain("more)");
  });
});

describe("requests that never finish arriving are cut off (API_REQUEST_TIMEOUT_MS)", () => {
  /** Sends the head of a POST and part of its body, then `more` (if given) one byte at a time; resolves when the server closes. */
  async function halfSent(url: string, trickle: boolean): Promise<{ ms: number; answer: string }> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    const started = Date.now();
    let answer = "";
    socket.on("data", (d) => (answer += d.toString()));
    socket.write(`POST /v1/searches HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"name": `);
    const timer = trickle ? setInterval(() => socket.write(" "), 100) : undefined;
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const gaveUp = new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 10_000));
    try {
      expect(await Promise.race([closed, gaveUp]), "the connection is still open after 10 s").not.toBe("open");
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
    return { ms: Date.now() - started, answer };
  }

  it("a silent half-sent body, and one trickling a byte every 100 ms, are closed within the timeout", async () => {
    const api = await startApi({ ...services.config, PORT: 0, HOST: "127.0.0.1", API_REQUEST_TIMEOUT_MS: 500 }, { logger: false });
    try {
      const silent = await halfSent(api.url!, false);
      expect(silent.ms).toBeGreaterThanOrEqual(400);
      expect(silent.ms).toBeLessThan(3000);
      const trickling = await halfSent(api.url!, true);
      expect(trickling.ms).toBeGreaterThanOrEqual(400);
      expect(trickling.ms).toBeLessThan(3000);
      expect(trickling.answer).toMatch(/^HTTP\/1\.1 408/);
      // A whole request is answered as usual.
      const ok = await fetch(`${api.url}/healthz`);
      expect(ok.status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it("the timeout defaults to 30 s", () => {
    expect(services.config.API_REQUEST_TIMEOUT_MS).toBe(30_000);
  });
});
