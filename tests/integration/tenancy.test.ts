/**
 * Keys and tenants: every /v1 route needs a key; a key of one project sees nothing of another's (404, never 403),
 * and a key's role bounds what it may do. The test walks every route the API declares (from its OpenAPI
 * document), so a new route without a check here fails it.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { addAlphaSnapshot, completeTrial, saveArtifacts } from "../../src/db/trials.js";
import { ensureProject, revokeKey } from "../../src/db/projects.js";
import { createModel, keepTrialWeights } from "../../src/db/models.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { startApi } from "../../src/processes.js";
import { freshDatabase } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let raw: FastifyInstance;
let a: Client;
let b: Client;
let searchId: string;
let trialId: string;
let spaceVersion: string;
let modelId: string;
let datasetId: string;
const DATASET_BODY = Buffer.from("a small corpus of the first project, long enough to split into its twenty blocks. ".repeat(4));
const TENANT_SPACE = { name: "tenant-space", family: "flow", decisions: [{ name: "steps", type: "integer", min: 1, max: 2 }, { name: "coupling", type: "categorical", values: ["affine"] }, { name: "hidden_width", type: "categorical", values: [8] }, { name: "hidden_depth", type: "integer", min: 1, max: 1 }] };

beforeAll(async () => {
  database = await freshDatabase("tenancy");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_tenancy`, AUTH_CACHE_S: "0" });
  raw = await services.app();
  a = withKey(raw, (await services.key("tenant-a")).key);
  b = withKey(raw, (await services.key("tenant-b")).key);
  // Project A: a search with completed trials, an artifact and an α snapshot.
  const created = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, budget: { maxTrials: 20, maxParallel: 4 } } });
  expect(created.statusCode).toBe(201);
  searchId = created.json().id;
  const { created: trials } = await advanceSearch(services.db, services.spaces, searchId);
  trialId = trials[0]!.id;
  await services.db.trial.update({ where: { id: trialId }, data: { status: "running", attempts: 1 } });
  await completeTrial(services.db, trialId, { test_accuracy: 91, flops: 7_783_050 }, 91);
  await saveArtifacts(services.db, trialId, [{ name: "density.png", contentType: "image/png", data: Buffer.from([137, 80, 78, 71]) }]);
  await addAlphaSnapshot(services.db, trialId, 1, 0, { "layers.0.attention": { full: 1 } });
  // Project A: a search space of its own, a model of its search and a trial's kept weights.
  const space = await a.inject({ method: "POST", url: "/v1/search-spaces", payload: TENANT_SPACE });
  expect(space.statusCode).toBe(201);
  spaceVersion = space.json().version;
  const projectA = (await ensureProject(services.db, "tenant-a")).id;
  modelId = (await createModel(services.db, { projectId: projectA }, { searchId, trialId, architecture: {}, steps: 1, family: "flow" })).id;
  await keepTrialWeights(services.db, trialId, 91, { manifest: {}, weights: Buffer.from([0, 0, 0, 0]) }, 3);
  // Project A: an uploaded dataset.
  const dataset = await a.inject({ method: "POST", url: "/v1/datasets?kind=text&name=a", headers: { "content-type": "application/octet-stream" }, payload: DATASET_BODY });
  expect(dataset.statusCode, dataset.body).toBe(201);
  datasetId = dataset.json().id;
});
afterAll(async () => {
  await services.close();
  await database.drop();
});

/** Every route of the API and what a second project's key must get from it. */
const ROUTES = (): Array<{ method: "GET" | "POST" | "DELETE"; path: string; url: () => string; other: number | ((body: any) => void); payload?: unknown; headers?: Record<string, string> }> => [
  { method: "GET", path: "/v1/searches", url: () => "/v1/searches", other: (body) => expect(body.items).toEqual([]) },
  { method: "GET", path: "/v1/searches/{id}", url: () => `/v1/searches/${searchId}`, other: 404 },
  { method: "GET", path: "/v1/searches/{id}/alphas", url: () => `/v1/searches/${searchId}/alphas`, other: 404 },
  { method: "POST", path: "/v1/searches/{id}/cancel", url: () => `/v1/searches/${searchId}/cancel`, other: 404 },
  { method: "GET", path: "/v1/searches/{id}/trials", url: () => `/v1/searches/${searchId}/trials`, other: 404 },
  // The live events: a 404 answered as JSON before any stream starts (src/api/routes/events.ts).
  { method: "GET", path: "/v1/searches/{id}/events", url: () => `/v1/searches/${searchId}/events`, other: 404 },
  { method: "GET", path: "/v1/trials/{id}", url: () => `/v1/trials/${trialId}`, other: 404 },
  { method: "GET", path: "/v1/trials/{id}/artifacts/{name}", url: () => `/v1/trials/${trialId}/artifacts/density.png`, other: 404 },
  {
    method: "GET",
    path: "/v1/leaderboard",
    url: () => "/v1/leaderboard?space=nasbench201&task=cifar10&metric=test_accuracy",
    other: (body) => expect(body.rows).toEqual([]),
  },
  // The project's boards only: project A's nasbench201/cifar10 board is not the second project's.
  { method: "GET", path: "/v1/leaderboard/boards", url: () => "/v1/leaderboard/boards", other: (body) => expect(body.items).toEqual([]) },
  { method: "GET", path: "/v1/searches/{id}/pareto", url: () => `/v1/searches/${searchId}/pareto`, other: 404 },
  {
    method: "GET",
    path: "/v1/leaderboard/pareto",
    url: () => "/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,flops&directions=maximize,minimize",
    other: (body) => expect(body.rows).toEqual([]),
  },
  { method: "GET", path: "/v1/search-spaces", url: () => "/v1/search-spaces", other: 200 },
  { method: "GET", path: "/v1/search-spaces/{id}", url: () => "/v1/search-spaces/nasbench201", other: 200 },
  { method: "GET", path: "/v1/search-spaces/{id}/{version}", url: () => `/v1/search-spaces/tenant-space/${spaceVersion}`, other: 404 },
  { method: "POST", path: "/v1/searches/{id}/retrain", url: () => `/v1/searches/${searchId}/retrain`, other: 404, payload: { steps: 5 } },
  { method: "GET", path: "/v1/models", url: () => "/v1/models", other: (body) => expect(body.items).toEqual([]) },
  { method: "GET", path: "/v1/models/{id}", url: () => `/v1/models/${modelId}`, other: 404 },
  { method: "GET", path: "/v1/models/{id}/download", url: () => `/v1/models/${modelId}/download`, other: 404 },
  { method: "POST", path: "/v1/models/{id}/generate", url: () => `/v1/models/${modelId}/generate`, other: 404, payload: { prompt: "a", maxLength: 2 } },
  { method: "POST", path: "/v1/models/{id}/sample", url: () => `/v1/models/${modelId}/sample`, other: 404, payload: { n: 1 } },
  { method: "POST", path: "/v1/models/{id}/log-prob", url: () => `/v1/models/${modelId}/log-prob`, other: 404, payload: { rows: [[0, 0]] } },
  { method: "GET", path: "/v1/trials/{id}/model", url: () => `/v1/trials/${trialId}/model`, other: 404 },
  { method: "GET", path: "/v1/searches/{id}/trials.csv", url: () => `/v1/searches/${searchId}/trials.csv`, other: 404 },
  { method: "GET", path: "/v1/searches/{id}/trials.jsonl", url: () => `/v1/searches/${searchId}/trials.jsonl`, other: 404 },
  // Workers are shared infrastructure with no project data (src/api/routes/workers.ts): every project sees them.
  { method: "GET", path: "/v1/workers", url: () => "/v1/workers", other: (body) => expect(Array.isArray(body.items)).toBe(true) },
  { method: "GET", path: "/v1/datasets", url: () => "/v1/datasets", other: (body) => expect(body.items).toEqual([]) },
  { method: "GET", path: "/v1/datasets/{id}", url: () => `/v1/datasets/${datasetId}`, other: 404 },
  { method: "DELETE", path: "/v1/datasets/{id}", url: () => `/v1/datasets/${datasetId}`, other: 404 },
  // The same bytes are the second project's own dataset (201), not the first's.
  { method: "POST", path: "/v1/datasets", url: () => "/v1/datasets?kind=text", other: 201, payload: DATASET_BODY, headers: { "content-type": "application/octet-stream" } },
  // A space of the same name is the second project's own (201), not the first's version.
  { method: "POST", path: "/v1/search-spaces", url: () => "/v1/search-spaces", other: 201, payload: TENANT_SPACE },
  // Last: it gives the second project a search of its own.
  { method: "POST", path: "/v1/searches", url: () => "/v1/searches", other: 201 },
];

describe("a second project's key", () => {
  it("covers every /v1 route the API declares", () => {
    const paths = (raw.swagger() as { paths: Record<string, Record<string, unknown>> }).paths;
    const declared = Object.entries(paths)
      .filter(([p]) => p.startsWith("/v1/"))
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    expect(ROUTES().map((r) => `${r.method} ${r.path}`).sort()).toEqual(declared);
  });

  it("sees nothing of the first project's: 404 for its resources, empty lists, its own leaderboard", async () => {
    for (const r of ROUTES()) {
      const res = await b.inject({ method: r.method, url: r.url(), ...(r.headers ? { headers: r.headers } : {}), ...(r.payload ? { payload: r.payload as object } : r.method === "POST" && r.path === "/v1/searches" ? { payload: NB201_SEARCH } : {}) });
      if (typeof r.other === "number") expect(res.statusCode, `${r.method} ${r.url()}: ${res.body}`).toBe(r.other);
      else {
        expect(res.statusCode, `${r.method} ${r.url()}`).toBe(200);
        r.other(res.json());
      }
      if (res.statusCode === 404) expect(res.json()).toMatchObject({ error: "not_found" });
    }
  });

  it("while the first project's key still sees all of it, and the cancel attempt changed nothing", async () => {
    expect((await a.inject(`/v1/searches/${searchId}`)).json().status).not.toBe("cancelled");
    expect((await a.inject(`/v1/trials/${trialId}`)).statusCode).toBe(200);
    expect((await a.inject(`/v1/trials/${trialId}/artifacts/density.png`)).statusCode).toBe(200);
    expect((await a.inject(`/v1/searches/${searchId}/alphas`)).json().items).toHaveLength(1);
    expect((await a.inject(`/v1/models/${modelId}`)).json()).toMatchObject({ id: modelId, status: "training" });
    expect((await a.inject(`/v1/trials/${trialId}/model`)).statusCode).toBe(200);
    expect((await a.inject(`/v1/search-spaces/tenant-space/${spaceVersion}`)).statusCode).toBe(200);
    expect((await a.inject(`/v1/datasets/${datasetId}`)).json()).toMatchObject({ id: datasetId, name: "a" });
    const board = (await a.inject("/v1/leaderboard?space=nasbench201&task=cifar10")).json();
    expect(board.rows.map((r: { trialId: string }) => r.trialId)).toEqual([trialId]);
    const front = (await a.inject("/v1/leaderboard/pareto?space=nasbench201&task=cifar10&metrics=test_accuracy,flops&directions=maximize,minimize")).json();
    expect(front.rows.map((r: { trialId: string }) => r.trialId)).toEqual([trialId]);
    const list = (await a.inject("/v1/searches")).json();
    expect(list.items.map((s: { id: string }) => s.id)).toEqual([searchId]);
  });
});

describe("keys", () => {
  it("no key, a malformed header or an unknown key: 401 saying what to send", async () => {
    const none = await raw.inject({ url: "/v1/searches" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized", message: expect.stringContaining("Authorization: Bearer") });
    expect((await raw.inject({ url: "/v1/searches", headers: { authorization: "Basic abc" } })).statusCode).toBe(401);
    expect((await withKey(raw, "nas_not-a-key-of-anyone-at-all").inject("/v1/searches")).statusCode).toBe(401);
  });

  it("health, readiness and the API's documentation stay open", async () => {
    expect((await raw.inject({ url: "/healthz" })).statusCode).toBe(200);
    expect((await raw.inject({ url: "/readyz" })).statusCode).toBe(200);
    expect((await raw.inject({ url: "/docs/json" })).statusCode).toBe(200);
  });

  it("a read key reads but may not submit or cancel (403 naming the role)", async () => {
    const reader = withKey(raw, (await services.key("tenant-a", "read")).key);
    expect((await reader.inject(`/v1/searches/${searchId}`)).statusCode).toBe(200);
    const post = await reader.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH });
    expect(post.statusCode).toBe(403);
    expect(post.json()).toMatchObject({ error: "forbidden", message: expect.stringContaining("write role") });
    expect((await reader.inject({ method: "POST", url: `/v1/searches/${searchId}/cancel` })).statusCode).toBe(403);
  });

  it("a revoked key stops working", async () => {
    const { key } = await services.key("tenant-a", "read");
    const client = withKey(raw, key);
    expect((await client.inject("/v1/searches")).statusCode).toBe(200);
    expect(await revokeKey(services.db, key.slice(0, 12))).toBe(1);
    expect((await client.inject("/v1/searches")).statusCode).toBe(401);
  });

  it("API_ADMIN_KEY is an admin key of API_ADMIN_PROJECT once the API has started", async () => {
    const key = "nas_bootstrap-key-for-the-tenancy-test";
    const api = await startApi({ ...services.config, API_ADMIN_KEY: key, API_ADMIN_PROJECT: "ops" }, { listen: false, logger: false });
    try {
      const res = await withKey(api.app, key).inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH });
      expect(res.statusCode).toBe(201);
      expect((await b.inject(`/v1/searches/${res.json().id}`)).statusCode).toBe(404);
    } finally {
      await api.close();
    }
  });

  it("AUTH=off: no key needed, every request is the project 'default'", async () => {
    const api = await startApi({ ...services.config, AUTH: "off" }, { listen: false, logger: false });
    try {
      const res = await api.app.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH });
      expect(res.statusCode).toBe(201);
      expect((await api.app.inject({ url: `/v1/searches/${res.json().id}` })).statusCode).toBe(200);
      expect((await a.inject(`/v1/searches/${res.json().id}`)).statusCode).toBe(404);
    } finally {
      await api.close();
    }
  });
});
