/**
 * /v1/datasets against the real PostgreSQL: uploads of each kind with their statistics, every malformed upload
 * answered 400 naming the problem and the place (413 over DATASET_MAX_BYTES), nothing stored after a failed or
 * interrupted upload, the same bytes twice as one dataset, another project's key seeing nothing, and searches that
 * train on a dataset (checked at submission, keyed on the leaderboard by the dataset, deletion refused meanwhile).
 */
import type { FastifyInstance } from "fastify";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { freshDatabase } from "../setup/env.js";
import { float64Bytes, makeCorpus, makeIdxImages, makeNpy, makeVectorsCsv } from "../setup/datasets.js";
import { openServices, withKey, type Client } from "../setup/services.js";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TrialError } from "../../src/core/errors.js";
import { datasetForSearch } from "../../src/trainer/datasets.js";
import { createModel, failModel } from "../../src/db/models.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";

const MAX_BYTES = 3 * 2 ** 20; // several 1 MB chunks fit, and the limit is quick to pass

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let raw: FastifyInstance;
let a: Client;
let b: Client;
let projectA: string;
let keyA: string;

beforeAll(async () => {
  database = await freshDatabase("datasets");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_datasets`, AUTH_CACHE_S: "0", DATASET_MAX_BYTES: String(MAX_BYTES), API_REQUEST_TIMEOUT_MS: "20000" });
  raw = await services.app();
  const ka = await services.key("datasets-a");
  keyA = ka.key;
  projectA = ka.projectId;
  a = withKey(raw, ka.key);
  b = withKey(raw, (await services.key("datasets-b")).key);
});
afterAll(async () => {
  await services?.close();
  await database?.drop();
});

const upload = (client: Client, kind: string, body: Buffer | string, name = "file") =>
  client.inject({ method: "POST", url: `/v1/datasets?kind=${kind}&name=${name}`, headers: { "content-type": "application/octet-stream" }, payload: typeof body === "string" ? Buffer.from(body) : body });

/** Rows in PostgreSQL of project A's datasets and their chunks. */
async function stored(): Promise<{ datasets: number; chunks: number }> {
  const { rows } = await services.db.pool.query<{ datasets: number; chunks: number }>(
    "SELECT (SELECT count(*)::int FROM datasets WHERE project_id = $1) AS datasets, (SELECT count(*)::int FROM dataset_chunks WHERE project_id = $1) AS chunks",
    [projectA],
  );
  return rows[0]!;
}

const corpus = makeCorpus(3);
const { csv } = makeVectorsCsv(4, { rows: 300, dim: 3 });

describe("uploads", () => {
  let textId: string;

  it("text: 201 with id, size, hash and statistics; the same bytes again are the same dataset (200)", async () => {
    const first = await upload(a, "text", corpus, "corpus.txt");
    expect(first.statusCode, first.body).toBe(201);
    const d = first.json();
    expect(d).toMatchObject({ name: "corpus.txt", kind: "text", bytes: Buffer.byteLength(corpus), store: "postgres", usedBy: [] });
    expect(d.id).toMatch(/^ds_[0-9a-f]{20}$/);
    expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(d.stats).toEqual({ format: "utf-8", characters: Array.from(corpus).length, vocabularySize: new Set(corpus).size });
    expect(first.headers.location).toBe(`/v1/datasets/${d.id}`);
    textId = d.id;
    const again = await upload(a, "text", corpus, "another-name.txt");
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: d.id, name: "corpus.txt", sha256: d.sha256 });
    expect((await stored()).datasets).toBe(1);
  });

  it("vectors (CSV, .npy) and images (IDX): statistics per kind; get and a paginated list, newest first", async () => {
    const v = await upload(a, "vectors", csv, "v.csv");
    expect(v.statusCode, v.body).toBe(201);
    expect(v.json().stats).toMatchObject({ format: "csv", rows: 300, dimension: 3, columns: ["x0", "x1", "x2"] });
    expect(v.json().stats.mean).toHaveLength(3);
    expect(v.json().stats.std).toHaveLength(3);
    const npy = await upload(a, "vectors", makeNpy("<f8", [20, 2], float64Bytes(Array.from({ length: 40 }, (_, i) => i))));
    expect(npy.statusCode, npy.body).toBe(201);
    expect(npy.json().stats).toMatchObject({ format: "npy", rows: 20, dimension: 2 });
    const im = await upload(a, "images", makeIdxImages(5, 40, 7, 7), "im.idx");
    expect(im.statusCode, im.body).toBe(201);
    expect(im.json().stats).toMatchObject({ format: "idx", count: 40, shape: [7, 7] });

    const one = await a.inject(`/v1/datasets/${v.json().id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(v.json());
    const page1 = (await a.inject("/v1/datasets?limit=3")).json();
    expect(page1.items.map((x: { id: string }) => x.id)).toEqual([im.json().id, npy.json().id, v.json().id]);
    const page2 = (await a.inject(`/v1/datasets?limit=3&cursor=${page1.nextCursor}`)).json();
    expect(page2).toEqual({ items: [expect.objectContaining({ id: textId })], nextCursor: null });
  });

  it("a large file is stored in ~1 MB chunks and read back whole", async () => {
    const big = Buffer.from(makeCorpus(9, 40_000)); // ~1.9 MB
    const res = await upload(a, "text", big);
    expect(res.statusCode, res.body).toBe(201);
    const { rows } = await services.db.pool.query<{ data: Buffer }>("SELECT data FROM dataset_chunks WHERE project_id = $1 AND dataset_id = $2 ORDER BY seq", [projectA, res.json().id]);
    expect(rows.length).toBe(Math.ceil(big.length / 2 ** 20));
    expect(Buffer.concat(rows.map((r) => r.data)).equals(big)).toBe(true);
  });

  it("malformed uploads: 400 naming the problem and its place, nothing stored", async () => {
    const before = await stored();
    const rows = Array.from({ length: 20 }, (_, i) => `${i},${i + 1}`);
    const cases: Array<[string, Buffer | string, RegExp]> = [
      ["text", Buffer.concat([Buffer.from("x".repeat(250)), Buffer.from([0xff, 0xfe]), Buffer.from("tail")]), /not UTF-8: invalid byte sequence at byte offset 250/],
      ["text", "", /the file is empty/],
      ["text", "too short", /too few characters to split/],
      ["vectors", [...rows.slice(0, 5), "1,2,3", ...rows].join("\n"), /ragged rows: line 6 has 3 values, the first row \(line 1\) has 2/],
      ["vectors", ["a,b", ...rows.slice(0, 3), "1,nan", ...rows].join("\n"), /line 5, column 2: nan is not a finite number/],
      ["vectors", [...rows.slice(0, 2), "Infinity,1", ...rows].join("\n"), /line 3, column 1: Infinity is not a finite number/],
      ["vectors", "1,2\n3,4\n", /too few rows to split/],
      ["vectors", "", /the file is empty/],
      ["vectors", makeNpy("<f8", [3, 2], float64Bytes([1, 2, 3, NaN, 5, 6])), /row 2, column 2: NaN/],
      ["images", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]), /wrong IDX magic number 0x504b0304 at byte offset 0/],
      ["images", makeIdxImages(1, 4, 3, 3), /too few images to split/],
      ["images", makeIdxImages(1, 20, 3, 3).subarray(0, 100), /IDX data: dimensions 20 × 3 × 3 need 180 bytes/],
    ];
    for (const [kind, body, message] of cases) {
      const res = await upload(a, kind, body);
      expect(res.statusCode, `${kind} ${message}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ error: "validation_error", issues: [{ field: "body", message: expect.stringMatching(message) }] });
    }
    const badKind = await upload(a, "audio", "x");
    expect(badKind.statusCode).toBe(400);
    expect(badKind.json().issues[0].field).toBe("kind");
    expect(await stored()).toEqual(before);
  });

  it("over DATASET_MAX_BYTES: 413 while streaming, nothing stored", async () => {
    const before = await stored();
    const res = await upload(a, "text", Buffer.alloc(MAX_BYTES + 10, 0x61));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: "payload_too_large", message: expect.stringContaining(`DATASET_MAX_BYTES = ${MAX_BYTES}`) });
    expect(await stored()).toEqual(before);
  });

  it("uploading and deleting need the write role", async () => {
    const reader = withKey(raw, (await services.key("datasets-a", "read")).key);
    expect((await upload(reader, "text", corpus)).statusCode).toBe(403);
    expect((await reader.inject({ method: "DELETE", url: "/v1/datasets/ds_00000000000000000000" })).statusCode).toBe(403);
    expect((await reader.inject("/v1/datasets")).statusCode).toBe(200);
  });

  it("only octet-stream bodies: JSON to /v1/datasets is 415, and the JSON routes refuse octet-stream", async () => {
    const json = await a.inject({ method: "POST", url: "/v1/datasets?kind=text", payload: { text: corpus } });
    expect(json.statusCode).toBe(415);
    const onSearches = await a.inject({ method: "POST", url: "/v1/searches", headers: { "content-type": "application/octet-stream" }, payload: Buffer.from("{}") });
    expect(onSearches.statusCode).toBe(415);
  });

  it("an upload the client abandons mid-stream stores nothing", async () => {
    const before = await stored();
    await raw.listen({ port: 0, host: "127.0.0.1" });
    const { port } = raw.server.address() as AddressInfo;
    const total = 2 * 2 ** 20;
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/datasets?kind=text&name=cut",
        headers: { authorization: `Bearer ${keyA}`, "content-type": "application/octet-stream", "content-length": String(total) },
      });
      req.on("error", () => resolve());
      req.on("response", () => resolve()); // not expected: the server cannot answer before the body ends
      req.write(Buffer.alloc(2 ** 20 + 5000, 0x62), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 200));
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored()).toEqual(before);

    // Over a real connection too, a file over the limit is answered 413 while the client is still sending.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/v1/datasets?kind=text", headers: { authorization: `Bearer ${keyA}`, "content-type": "application/octet-stream" } });
      req.on("response", (res) => resolve(res.statusCode ?? 0));
      // The server answers and closes while we are still writing: our next write may fail with EPIPE/ECONNRESET
      // before the answer is read, so such an error waits a moment for the response rather than failing the test.
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "EPIPE" || err.code === "ECONNRESET") setTimeout(() => reject(err), 2_000);
        else reject(err);
      });
      const piece = Buffer.alloc(256 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < 3 * MAX_BYTES) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(await stored()).toEqual(before);
  });
});

describe("searches on datasets, and another project", () => {
  let text: { id: string };
  let vectors: { id: string };
  const lm = (evaluator: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name: "on-data", space: "transformer-lm", strategy: { type: "random" },
    evaluator: { type: "train", budget: { steps: 20 }, batchSize: 4, contextLength: 16, ...evaluator },
    objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 1 }, seed: 4, ...extra,
  });
  const post = (client: Client, body: unknown) => client.inject({ method: "POST", url: "/v1/searches", payload: body as object });

  beforeAll(async () => {
    text = (await upload(a, "text", corpus)).json();
    vectors = (await upload(a, "vectors", csv)).json();
  });

  it("a search names a dataset of its project, of a kind its space trains on (400 naming the field otherwise)", async () => {
    const missing = await post(a, lm({ dataset: "ds_00000000000000000000" }));
    expect(missing.statusCode).toBe(400);
    expect(missing.json().issues[0]).toMatchObject({ field: "evaluator.dataset", message: expect.stringContaining("no dataset") });
    const wrongKind = await post(a, lm({ dataset: vectors.id }));
    expect(wrongKind.statusCode).toBe(400);
    expect(wrongKind.json().issues[0]).toMatchObject({ field: "evaluator.dataset", message: expect.stringContaining("vectors data; transformer spaces train on text") });
    const both = await post(a, lm({ dataset: text.id, task: "charlm-moby-dick" }));
    expect(both.json().issues[0]).toMatchObject({ field: "evaluator.dataset", message: expect.stringContaining("not both") });
    const neither = await post(a, lm({}));
    expect(neither.json().issues[0].field).toBe("evaluator.task");
    const tooLong = await post(a, lm({ dataset: text.id, contextLength: 2048 }));
    expect(tooLong.json().issues[0]).toMatchObject({ field: "evaluator.contextLength" });
    const flow = (metric: string) => ({ name: "flow-data", space: "flow-2d", strategy: { type: "random" }, evaluator: { type: "train", dataset: vectors.id, budget: { steps: 10 } }, objective: { metric, direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 1 });
    expect((await post(a, flow("bits_per_dim"))).json().issues[0]).toMatchObject({ field: "objective.metric", message: expect.stringContaining("not for vectors") });
    expect((await post(a, flow("gap_nats"))).json().issues[0]).toMatchObject({ field: "objective.metric" });
    const flowSearch = await post(a, flow("test_nll"));
    expect(flowSearch.statusCode, flowSearch.body).toBe(201);
    expect(flowSearch.json().task).toBe(`vectors:${vectors.id}@10steps`);
    await a.inject({ method: "POST", url: `/v1/searches/${flowSearch.json().id}/cancel` });
    // Another project's key cannot train on it either: the dataset is not found in its project.
    expect((await post(b, lm({ dataset: text.id }))).json().issues[0]).toMatchObject({ field: "evaluator.dataset" });
  });

  it("a search on a text dataset has the dataset's task; the dataset cannot be deleted while it is active (409)", async () => {
    const created = await post(a, lm({ dataset: text.id }));
    expect(created.statusCode, created.body).toBe(201);
    const search = created.json();
    expect(search.task).toBe(`charlm:${text.id}@20steps`);
    expect((await a.inject(`/v1/datasets/${text.id}`)).json().usedBy).toEqual([search.id]);
    const refused = await a.inject({ method: "DELETE", url: `/v1/datasets/${text.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: "conflict", message: expect.stringContaining(search.id) });
    // A model retrained from the search reads the dataset too: refused while it trains.
    const { created: trials } = await advanceSearch(services.db, services.spaces, search.id);
    const model = await createModel(services.db, { projectId: projectA }, { searchId: search.id, trialId: trials[0]!.id, architecture: {}, steps: 1, family: "transformer" });
    expect((await a.inject({ method: "POST", url: `/v1/searches/${search.id}/cancel` })).statusCode).toBe(200);
    const whileTraining = await a.inject({ method: "DELETE", url: `/v1/datasets/${text.id}` });
    expect(whileTraining.statusCode).toBe(409);
    expect(whileTraining.json().message).toContain(model.id);
    await failModel(services.db, model.id, "test");
    const deleted = await a.inject({ method: "DELETE", url: `/v1/datasets/${text.id}` });
    expect(deleted.statusCode).toBe(204);
    expect((await a.inject(`/v1/datasets/${text.id}`)).statusCode).toBe(404);
    const { rows } = await services.db.pool.query("SELECT 1 FROM dataset_chunks WHERE project_id = $1 AND dataset_id = $2", [projectA, text.id]);
    expect(rows).toEqual([]);
  });

  it("another project's key: 404 for the dataset, an empty list, and its own upload of the same bytes", async () => {
    expect((await b.inject(`/v1/datasets/${vectors.id}`)).statusCode).toBe(404);
    expect((await b.inject({ method: "DELETE", url: `/v1/datasets/${vectors.id}` })).statusCode).toBe(404);
    expect((await b.inject("/v1/datasets")).json()).toEqual({ items: [], nextCursor: null });
    const own = await upload(b, "vectors", csv);
    expect(own.statusCode).toBe(201);
    expect(own.json().id).toBe(vectors.id);
    expect((await a.inject(`/v1/datasets/${vectors.id}`)).statusCode).toBe(200);
  });
});

describe("a trainer's copy of a dataset", () => {
  it("is read from PostgreSQL once, checked against its hash, and found through the search's project", async () => {
    const body = Buffer.from(makeCorpus(21, 30_000)); // more than one chunk
    const dataset = (await upload(a, "text", body)).json();
    const search = (await a.inject({
      method: "POST",
      url: "/v1/searches",
      payload: { name: "cached", space: "transformer-lm", strategy: { type: "random" }, evaluator: { type: "train", dataset: dataset.id, budget: { steps: 5 }, contextLength: 16 }, objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 8 },
    })).json();
    const cache = { DATASET_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), "nas-dataset-cache-")) };
    const first = await datasetForSearch(services.db, cache, search.id, { dataset: dataset.id }, 8);
    expect(first).toMatchObject({ id: dataset.id, kind: "text", sha256: dataset.sha256, splitSeed: 8 });
    expect(readFileSync(first!.path).equals(body)).toBe(true);
    const written = statSync(first!.path).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = await datasetForSearch(services.db, cache, search.id, { dataset: dataset.id }, 8);
    expect(again!.path).toBe(first!.path);
    expect(statSync(again!.path).mtimeMs).toBe(written); // not written again
    // The benchmark evaluator's `dataset` is its table's name, not an upload; a dataset of no project of the search is the trial's fault.
    expect(await datasetForSearch(services.db, cache, search.id, { dataset: "cifar10" }, 8)).toBeUndefined();
    await expect(datasetForSearch(services.db, cache, search.id, { dataset: "ds_00000000000000000000" }, 8)).rejects.toBeInstanceOf(TrialError);
  });
});
