/**
 * A search's trials exported (GET /v1/searches/:id/trials.csv and .jsonl): a header and one line per trial, by seq,
 * across pages; decisions in the space's order, every metric, the objective, costs computed from the architecture
 * (queued trials too), attempts, worker, backend, timings and parent; RFC 4180 quoting of awkward values (read back
 * by a strict parser here); a second project's key gets 404.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { completeTrial, finishTrial } from "../../src/db/trials.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { freshDatabase } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let a: Client;
let b: Client;
let searchId: string;
let trialIds: string[];

const AWKWARD = 'a, "quoted"\nsecond line';
const EDGES = ["node1_from0", "node2_from0", "node2_from1", "node3_from0", "node3_from1", "node3_from2"];

/** A strict RFC 4180 reader: records of fields; throws on a stray quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
      if (i < text.length && text[i] !== "," && text[i] !== "\r") throw new Error(`text after a closing quote at ${i}`);
    } else if (text[i] === ",") {
      record.push(field);
      field = "";
      i++;
    } else if (text[i] === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 2;
    } else {
      if (text[i] === '"' || text[i] === "\n") throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
      field += text[i++];
    }
  }
  if (field !== "" || record.length) throw new Error("the last record has no CRLF");
  return records;
}

beforeAll(async () => {
  database = await freshDatabase("exports");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_exports` });
  app = await services.app();
  a = withKey(app, (await services.key("exports-a")).key);
  b = withKey(app, (await services.key("exports-b")).key);
  const created = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, budget: { maxTrials: 20, maxParallel: 4 } } });
  expect(created.statusCode).toBe(201);
  searchId = created.json().id;
  const { created: trials } = await advanceSearch(services.db, services.spaces, searchId);
  trialIds = trials.map((t) => t.id);
  expect(trialIds).toHaveLength(4);
  // 0: completed (with an awkward string metric); 1: failed with an error; 2: the child of 0, running; 3: queued.
  await services.db.trial.update({ where: { id: trialIds[0]! }, data: { status: "running", attempts: 1, worker: "w1", startedAt: new Date(Date.now() - 2500) } });
  await completeTrial(services.db, trialIds[0]!, { test_accuracy: 91.5, flops: 7_783_050, backend: "wasm", note: AWKWARD }, 91.5);
  await services.db.trial.update({ where: { id: trialIds[1]! }, data: { status: "running", attempts: 2, worker: "w2", startedAt: new Date() } });
  await finishTrial(services.db, trialIds[1]!, "failed", "TrialError: boom, \"bad\"");
  await services.db.trial.update({ where: { id: trialIds[2]! }, data: { status: "running", attempts: 1, parentId: trialIds[0]!, startedAt: new Date() } });
}, 60_000);
afterAll(async () => {
  await services.close();
  await database.drop();
});

describe("trials.csv", () => {
  it("a header and one line per trial by seq, with decisions, metrics, objective, costs, timings and parent", async () => {
    const res = await a.inject(`/v1/searches/${searchId}/trials.csv`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/csv/);
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="trials-${searchId}.csv"`);
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual([
      "id", "seq", "kind", "status", "parentId", "archHash",
      ...EDGES.map((e) => `arch.${e}`),
      "metric.flops", "metric.note", "metric.test_accuracy",
      "objective", "cost.flops", "cost.params",
      "attempts", "worker", "backend", "error", "queuedAt", "startedAt", "finishedAt", "duration_s",
    ]);
    expect(rows).toHaveLength(4);
    const records = rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
    expect(records.map((r) => r.id)).toEqual(trialIds);
    expect(records.map((r) => r.seq)).toEqual(["0", "1", "2", "3"]);
    expect(records.map((r) => r.status)).toEqual(["completed", "failed", "running", "queued"]);
    const [done, failed, child, queued] = records as Array<Record<string, string>>;
    expect(done).toMatchObject({ "metric.note": AWKWARD, "metric.test_accuracy": "91.5", objective: "91.5", backend: "wasm", worker: "w1", attempts: "1", parentId: "" });
    expect(Number(done!.duration_s)).toBeGreaterThan(2);
    expect(new Date(done!.finishedAt!).getTime()).toBeGreaterThan(new Date(done!.startedAt!).getTime());
    expect(failed).toMatchObject({ error: 'TrialError: boom, "bad"', attempts: "2", objective: "", "metric.test_accuracy": "" });
    expect(child!.parentId).toBe(trialIds[0]);
    // Costs from the architecture, for every trial: a queued one has no metrics but has its costs.
    expect(queued!.finishedAt).toBe("");
    expect(queued!.duration_s).toBe("");
    expect(Number(queued!["cost.flops"])).toBeGreaterThan(0);
    expect(Number(queued!["cost.params"])).toBeGreaterThan(0);
    expect(Number(done!["cost.flops"])).toBeGreaterThan(0);
    const trial0 = (await a.inject(`/v1/trials/${trialIds[0]}`)).json();
    for (const e of EDGES) expect(done![`arch.${e}`]).toBe(trial0.architecture[e]);
  });

  it("a search without trials is its header alone; a repeat decision is one JSON column", async () => {
    const space = {
      name: "export-lm", family: "transformer",
      decisions: [
        { name: "n_layers", type: "integer", min: 1, max: 2 }, { name: "d_model", type: "categorical", values: [16] }, { name: "n_heads", type: "categorical", values: [2] },
        { name: "ff_mult", type: "categorical", values: [1] }, { name: "positions", type: "categorical", values: ["learned"] }, { name: "norm", type: "categorical", values: ["pre_ln"] },
        { name: "dropout", type: "categorical", values: [0] },
        { name: "layers", type: "repeat", count: "n_layers", decisions: [{ name: "attention", type: "categorical", values: ["full"] }, { name: "activation", type: "categorical", values: ["relu"] }] },
      ],
    };
    expect((await a.inject({ method: "POST", url: "/v1/search-spaces", payload: space })).statusCode).toBe(201);
    const created = await a.inject({
      method: "POST", url: "/v1/searches",
      payload: { name: "lm", space: "export-lm", strategy: { type: "random" }, evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 5 } }, objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 1 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const empty = parseCsv((await a.inject(`/v1/searches/${id}/trials.csv`)).body);
    expect(empty).toHaveLength(1);
    expect(empty[0]).toEqual(expect.arrayContaining(["arch.n_layers", "arch.layers", "cost.params", "cost.flops_per_token"]));
    expect((await a.inject(`/v1/searches/${id}/trials.jsonl`)).body).toBe("");
    await advanceSearch(services.db, services.spaces, id);
    const [header, first] = parseCsv((await a.inject(`/v1/searches/${id}/trials.csv`)).body);
    const layers = JSON.parse(first![header!.indexOf("arch.layers")]!);
    expect(layers[0]).toEqual({ attention: "full", activation: "relu" });
    expect(Number(first![header!.indexOf("cost.params")])).toBeGreaterThan(0);
  });

  it("streams every trial of a search larger than a page, in seq order", async () => {
    const created = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, name: "big", budget: { maxTrials: 2000, maxParallel: 1 } } });
    const id = created.json().id;
    await services.db.pool.query(
      `INSERT INTO trials (id, search_id, seq, architecture, arch_hash)
       SELECT gen_random_uuid(), $1, n, '{"node1_from0": "none"}'::jsonb, 'h' || n FROM generate_series(0, 1204) n`,
      [id],
    );
    const csv = parseCsv((await a.inject(`/v1/searches/${id}/trials.csv`)).body);
    expect(csv).toHaveLength(1206);
    expect(csv.slice(1).map((r) => Number(r[1]))).toEqual(Array.from({ length: 1205 }, (_, n) => n));
    const lines = (await a.inject(`/v1/searches/${id}/trials.jsonl`)).body.trimEnd().split("\n");
    expect(lines).toHaveLength(1205);
    expect(JSON.parse(lines[1204]!)).toMatchObject({ seq: 1204, "arch.node1_from0": "none", status: "queued" });
  });
});

describe("trials.jsonl", () => {
  it("one JSON object per trial with the CSV's keys and JSON values", async () => {
    const res = await a.inject(`/v1/searches/${searchId}/trials.jsonl`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    const lines = res.body.split("\n");
    expect(lines.at(-1)).toBe("");
    const objects = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(objects.map((o) => o.id)).toEqual(trialIds);
    expect(objects[0]).toMatchObject({ seq: 0, status: "completed", objective: 91.5, "metric.note": AWKWARD, "metric.test_accuracy": 91.5, backend: "wasm", parentId: null, attempts: 1 });
    expect(typeof objects[0]["cost.flops"]).toBe("number");
    expect(objects[2].parentId).toBe(trialIds[0]);
    const csvHeader = parseCsv((await a.inject(`/v1/searches/${searchId}/trials.csv`)).body)[0];
    expect(Object.keys(objects[0])).toEqual(csvHeader);
  });
});

describe("errors and tenancy", () => {
  it("another project's search and an unknown one are 404; a malformed id is 400 naming it", async () => {
    for (const url of [`/v1/searches/${searchId}/trials.csv`, `/v1/searches/${searchId}/trials.jsonl`]) {
      const res = await b.inject(url);
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ error: "not_found" });
    }
    expect((await a.inject("/v1/searches/00000000-0000-4000-8000-000000000000/trials.csv")).statusCode).toBe(404);
    const bad = await a.inject("/v1/searches/nope/trials.csv");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].field).toBe("id");
  });
});
