/**
 * The winner, trained and usable, with a real orchestrator and trainer in this process: a train search keeps the
 * weights of its best SEARCH_KEEP_TOP_K trials; POST /v1/searches/:id/retrain trains the best architecture into a
 * model with test scores; the model is downloaded (loadable with loadModel, giving the trainer's own answers) and
 * queried through trainers (generate for a language model; sample and log-prob for a flow). Errors: an unknown
 * model 404, the wrong route for the family 400 naming the right ones, a model not ready 409, no trainer 504; a
 * second project's key gets 404 everywhere.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createModel, finishModel } from "../../src/db/models.js";
import { loadModel, transformerFiles, type LoadedFlow, type LoadedTransformer } from "../../src/models/artifact/index.js";
import { initBackend } from "../../src/models/backend.js";
import { TransformerLM } from "../../src/models/transformer/index.js";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let a: Client;
let b: Client;
let projectA: string;
const processes: ProcessHandle[] = [];
let lmSearch: { id: string; best: { id: string; architecture: unknown } };
let flowSearch: { id: string };
let lmModel: string;
let flowModel: string;

const TINY_LM = {
  name: "models-lm", family: "transformer",
  decisions: [
    { name: "n_layers", type: "integer", min: 1, max: 1 }, { name: "d_model", type: "categorical", values: [16, 24] }, { name: "n_heads", type: "categorical", values: [2] },
    { name: "ff_mult", type: "categorical", values: [1, 2] }, { name: "positions", type: "categorical", values: ["learned"] }, { name: "norm", type: "categorical", values: ["pre_ln"] },
    { name: "dropout", type: "categorical", values: [0] },
    { name: "layers", type: "repeat", count: "n_layers", decisions: [{ name: "attention", type: "categorical", values: ["full"] }, { name: "activation", type: "categorical", values: ["relu", "gelu"] }] },
  ],
};
const TINY_FLOW = {
  name: "models-flow", family: "flow",
  decisions: [
    { name: "steps", type: "integer", min: 2, max: 3 }, { name: "coupling", type: "categorical", values: ["affine"] }, { name: "hidden_width", type: "categorical", values: [16] },
    { name: "hidden_depth", type: "integer", min: 1, max: 1 }, { name: "permutation", type: "categorical", values: ["reverse", "lu"] },
  ],
};

async function runSearch(body: object): Promise<any> {
  const created = await a.inject({ method: "POST", url: "/v1/searches", payload: body });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id;
  return waitFor("the search to end", async () => {
    const s = (await a.inject(`/v1/searches/${id}`)).json();
    return ["completed", "failed", "cancelled"].includes(s.status) ? s : undefined;
  }, 120_000);
}

async function waitForModel(id: string): Promise<any> {
  return waitFor(`model ${id}`, async () => {
    const m = (await a.inject(`/v1/models/${id}`)).json();
    return m.status !== "training" ? m : undefined;
  }, 120_000);
}

beforeAll(async () => {
  database = await freshDatabase("models");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_models`, SEARCH_KEEP_TOP_K: "2" });
  app = await services.app();
  const keyA = await services.key("models-a");
  projectA = keyA.projectId;
  a = withKey(app, keyA.key);
  b = withKey(app, (await services.key("models-b")).key);
  const config = { ...services.config, TRAINER_CONCURRENCY: 2, WORKER_NAME: "models", LOG_LEVEL: "silent" as const };
  processes.push(await startOrchestrator(config), await startTrainer(config));
  for (const space of [TINY_LM, TINY_FLOW]) expect((await a.inject({ method: "POST", url: "/v1/search-spaces", payload: space })).statusCode).toBe(201);
}, 120_000);
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services.close();
  await database.drop();
});

describe("a train search keeps its best trials' weights", () => {
  it("the top SEARCH_KEEP_TOP_K = 2 of 4 trials, by objective; the others' are deleted", async () => {
    const search = await runSearch({
      name: "lm", space: "models-lm", strategy: { type: "random" },
      evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 15 }, batchSize: 4, contextLength: 16, evalSequences: 8, sampleLength: 0 },
      objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 2,
    });
    expect(search.status, JSON.stringify(search)).toBe("completed");
    lmSearch = search;
    const trials = (await a.inject(`/v1/searches/${search.id}/trials?sort=objective`)).json().items;
    expect(trials).toHaveLength(4);
    const kept = [];
    for (const t of trials) kept.push((await a.inject(`/v1/trials/${t.id}/model`)).statusCode);
    expect(kept).toEqual([200, 200, 404, 404]);
    const bundle = (await a.inject(`/v1/trials/${trials[0].id}/model`)).json();
    expect(bundle["model.json"]).toMatchObject({ format: "nas-model/1", family: "transformer", task: "charlm-moby-dick", architecture: trials[0].architecture });
    expect(bundle["model.json"].vocabulary).toHaveLength(83);
    // The trial's own weights reproduce its score's ingredients: loadable, with the trial's vocabulary.
    const loaded = (await loadModel(bundle)) as LoadedTransformer;
    expect(loaded.encode("Call me Ishmael.")).toHaveLength(16);
    loaded.dispose();
    // model.json and weights.bin are kept as weights, not listed among the trial's files.
    expect((await a.inject(`/v1/trials/${trials[0].id}`)).json().artifacts).toEqual([]);
  }, 150_000);
});

describe("retrain, download, generate (a language model)", () => {
  it("409 for a search with nothing to retrain; 202 with a model id that becomes ready with test scores", async () => {
    const nb = await a.inject({ method: "POST", url: "/v1/searches", payload: { ...NB201_SEARCH, budget: { maxTrials: 2, maxParallel: 1 } } });
    const noTrain = await a.inject({ method: "POST", url: `/v1/searches/${nb.json().id}/retrain`, payload: { steps: 10 } });
    expect(noTrain.statusCode).toBe(409);
    expect(noTrain.json().message).toMatch(/benchmark evaluator/);
    expect((await a.inject({ method: "POST", url: `/v1/searches/${lmSearch.id}/retrain`, payload: { steps: 0 } })).json().issues[0].field).toBe("steps");

    const res = await a.inject({ method: "POST", url: `/v1/searches/${lmSearch.id}/retrain`, payload: { steps: 25 } });
    expect(res.statusCode, res.body).toBe(202);
    lmModel = res.json().modelId;
    expect((await a.inject(`/v1/models/${lmModel}`)).json()).toMatchObject({ id: lmModel, status: expect.stringMatching(/training|ready/), steps: 25 });
    const model = await waitForModel(lmModel);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(model).toMatchObject({ family: "transformer", source: { searchId: lmSearch.id, trialId: lmSearch.best.id, space: "models-lm" }, architecture: lmSearch.best.architecture, downloadUrl: `/v1/models/${lmModel}/download` });
    expect(model.scores.test_bpc).toBeGreaterThan(0);
    expect(model.scores.test_bpc).toBeLessThan(Math.log2(83) + 0.5);
    expect(model.metrics).toMatchObject({ steps: 25, test_split: "validation-half" });
    expect(model.metrics.val_bpc).toBeUndefined();
    const list = (await a.inject("/v1/models")).json();
    expect(list.items.map((m: { id: string }) => m.id)).toContain(lmModel);
  }, 150_000);

  it("generate answers text of maxLength characters, the same for the same seed, and equal to the downloaded model's", async () => {
    const body = { prompt: "The whale ", maxLength: 30, temperature: 0.8, seed: 4 };
    const one = await a.inject({ method: "POST", url: `/v1/models/${lmModel}/generate`, payload: body });
    expect(one.statusCode, one.body).toBe(200);
    expect(Array.from(one.json().text)).toHaveLength(30);
    expect((await a.inject({ method: "POST", url: `/v1/models/${lmModel}/generate`, payload: body })).json().text).toBe(one.json().text);
    const download = await a.inject(`/v1/models/${lmModel}/download`);
    expect(download.statusCode).toBe(200);
    expect(download.headers["content-disposition"]).toMatch(/attachment/);
    const local = (await loadModel(download.json())) as LoadedTransformer;
    expect(local.generate(body)).toBe(one.json().text);
    local.dispose();
    const unknown = await a.inject({ method: "POST", url: `/v1/models/${lmModel}/generate`, payload: { prompt: "snow ☃", maxLength: 5 } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().issues[0]).toMatchObject({ field: "prompt", message: expect.stringMatching(/"☃" is not in the model's vocabulary/) });
    const wrong = await a.inject({ method: "POST", url: `/v1/models/${lmModel}/sample`, payload: { n: 2 } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().message).toMatch(/use POST \/v1\/models\/:id\/generate/);
  }, 60_000);
});

describe("a flow: retrain, sample, log-prob", () => {
  it("sample answers points in data units and log-prob a density per row", async () => {
    flowSearch = await runSearch({
      name: "flow", space: "models-flow", strategy: { type: "random" },
      evaluator: { type: "train", task: "8gaussians", budget: { steps: 40 }, batchSize: 128, samples: 200 },
      objective: { metric: "gap_nats", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 3,
    });
    expect((flowSearch as { status?: string }).status).toBe("completed");
    const res = await a.inject({ method: "POST", url: `/v1/searches/${flowSearch.id}/retrain`, payload: { steps: 60 } });
    expect(res.statusCode).toBe(202);
    flowModel = res.json().modelId;
    const model = await waitForModel(flowModel);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(Object.keys(model.scores)).toEqual(expect.arrayContaining(["gap_nats"]));
    expect(model.metrics.test_nll).toBeGreaterThan(0);

    const sample = await a.inject({ method: "POST", url: `/v1/models/${flowModel}/sample`, payload: { n: 5, seed: 1 } });
    expect(sample.statusCode, sample.body).toBe(200);
    expect(sample.json().points).toHaveLength(5);
    for (const p of sample.json().points) expect(p).toHaveLength(2);
    const rows = [[0, 0], [2, 2], [40, -40]];
    const lp = await a.inject({ method: "POST", url: `/v1/models/${flowModel}/log-prob`, payload: { rows } });
    expect(lp.statusCode, lp.body).toBe(200);
    const logProb = lp.json().logProb;
    expect(logProb).toHaveLength(3);
    expect(logProb[2]).toBeLessThan(logProb[1]); // far outside the data: far less likely
    const local = (await loadModel((await a.inject(`/v1/models/${flowModel}/download`)).json())) as LoadedFlow;
    local.logProb(rows).forEach((v, i) => expect(v).toBeCloseTo(logProb[i], 4));
    local.dispose();

    const width = await a.inject({ method: "POST", url: `/v1/models/${flowModel}/log-prob`, payload: { rows: [[1, 2], [1, 2, 3]] } });
    expect(width.statusCode).toBe(400);
    expect(width.json().issues[0].field).toBe("rows.1");
    const gen = await a.inject({ method: "POST", url: `/v1/models/${flowModel}/generate`, payload: { prompt: "x", maxLength: 3 } });
    expect(gen.statusCode).toBe(400);
    expect(gen.json().message).toMatch(/this model is a flow: use POST \/v1\/models\/:id\/sample and \/log-prob/);
  }, 150_000);
});

describe("models of uploaded datasets: the manifest keeps the dataset's vocabulary or normalisation", () => {
  const upload = async (kind: string, name: string, body: string) => {
    const res = await a.inject({ method: "POST", url: `/v1/datasets?kind=${kind}&name=${name}`, headers: { "content-type": "application/octet-stream" }, payload: Buffer.from(body) });
    expect([200, 201], res.body).toContain(res.statusCode);
    return res.json() as { id: string; sha256: string };
  };

  it("text: retrained on the dataset's train + validation split, its vocabulary with <unk>, generate maps unknown characters", async () => {
    const corpus = "the quick brown fox jumps over the lazy dog. ".repeat(60) + "zebra\n";
    const dataset = await upload("text", "fox", corpus);
    const search = await runSearch({
      name: "lm-ds", space: "models-lm", strategy: { type: "random" },
      evaluator: { type: "train", dataset: dataset.id, budget: { steps: 10 }, batchSize: 4, contextLength: 16, evalSequences: 4, sampleLength: 0 },
      objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 4,
    });
    expect(search.status, JSON.stringify(search)).toBe("completed");
    const res = await a.inject({ method: "POST", url: `/v1/searches/${search.id}/retrain`, payload: { steps: 10 } });
    expect(res.statusCode, res.body).toBe(202);
    const model = await waitForModel(res.json().modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(model.source.task.startsWith(`charlm:${dataset.id}`), model.source.task).toBe(true); // the search's leaderboard task key
    expect(model.metrics.test_split).toBe("test");
    const manifest = (await a.inject(`/v1/models/${model.id}/download`)).json()["model.json"];
    expect(manifest).toMatchObject({ task: `charlm:${dataset.id}`, datasetSha256: dataset.sha256 });
    expect(manifest.vocabulary.at(-1)).toBe("<unk>");
    expect(manifest.unknownToken).toBe(manifest.vocabulary.length - 1);
    for (const c of manifest.vocabulary.slice(0, -1)) expect(corpus).toContain(c);
    const gen = await a.inject({ method: "POST", url: `/v1/models/${model.id}/generate`, payload: { prompt: "the ☃ fox", maxLength: 10, seed: 1 } });
    expect(gen.statusCode, gen.body).toBe(200);
    expect(Array.from(gen.json().text)).toHaveLength(10);
  }, 120_000);

  it("vectors: the manifest standardises with the training split's mean and std; samples come out in the data's units", async () => {
    const rows = Array.from({ length: 600 }, (_, i) => [100 + Math.sin(i) * 2, -50 + Math.cos(3 * i)]);
    const dataset = await upload("vectors", "far", rows.map((r) => r.join(",")).join("\n") + "\n");
    const search = await runSearch({
      name: "flow-ds", space: "models-flow", strategy: { type: "random" },
      evaluator: { type: "train", dataset: dataset.id, budget: { steps: 20 }, batchSize: 64 },
      objective: { metric: "test_nll", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 4,
    });
    expect(search.status, JSON.stringify(search)).toBe("completed");
    const res = await a.inject({ method: "POST", url: `/v1/searches/${search.id}/retrain`, payload: { steps: 20 } });
    const model = await waitForModel(res.json().modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    const manifest = (await a.inject(`/v1/models/${model.id}/download`)).json()["model.json"];
    expect(manifest).toMatchObject({ task: `vectors:${dataset.id}`, datasetSha256: dataset.sha256, input: { dim: 2 }, normalisation: { kind: "standardize" } });
    expect(manifest.normalisation.mean[0]).toBeCloseTo(100, 0);
    expect(manifest.normalisation.mean[1]).toBeCloseTo(-50, 0);
    const points = (await a.inject({ method: "POST", url: `/v1/models/${model.id}/sample`, payload: { n: 200, seed: 1 } })).json().points as number[][];
    const meanOf = (d: number) => points.reduce((s, p) => s + p[d]!, 0) / points.length;
    expect(Math.abs(meanOf(0) - 100)).toBeLessThan(3);
    expect(Math.abs(meanOf(1) + 50)).toBeLessThan(3);
  }, 120_000);
});

describe("a language model with an unknown token (a text dataset's <unk>)", () => {
  it("generate takes a prompt with characters the model never saw: they map to <unk>", async () => {
    await initBackend();
    const lm = new TransformerLM(lmSearch.best.architecture as never, { vocabSize: 4, contextLength: 16 }, 1);
    const files = transformerFiles(lm, ["<unk>", "a", "b", " "], { architecture: lmSearch.best.architecture as Record<string, unknown>, seed: 1, trainConfig: {}, task: "charlm:ds_test" }, 0);
    lm.dispose();
    const row = await createModel(services.db, { projectId: projectA }, { searchId: lmSearch.id, trialId: lmSearch.best.id, architecture: lmSearch.best.architecture as Record<string, number>, steps: 1, family: "transformer" });
    expect(await finishModel(services.db, row.id, { test_bpc: 1 }, { manifest: files.manifest as never, weights: Buffer.from(files.weights) })).toBe(true);
    const res = await a.inject({ method: "POST", url: `/v1/models/${row.id}/generate`, payload: { prompt: "a☃b", maxLength: 8, seed: 2 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(Array.from(res.json().text)).toHaveLength(8);
    expect(res.json().text).toMatch(/^[ab \uFFFD]+$/);
  });
});

describe("errors and tenancy", () => {
  it("an unknown model is 404; a model not ready is 409 (inference and download)", async () => {
    const none = "00000000-0000-4000-8000-00000000abcd";
    expect((await a.inject(`/v1/models/${none}`)).statusCode).toBe(404);
    expect((await a.inject({ method: "POST", url: `/v1/models/${none}/generate`, payload: { prompt: "a", maxLength: 2 } })).statusCode).toBe(404);
    const training = await createModel(services.db, { projectId: projectA }, { searchId: lmSearch.id, trialId: lmSearch.best.id, architecture: lmSearch.best.architecture as Record<string, number>, steps: 5, family: "transformer" });
    const res = await a.inject({ method: "POST", url: `/v1/models/${training.id}/generate`, payload: { prompt: "a", maxLength: 2 } });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/training, not ready/);
    expect((await a.inject(`/v1/models/${training.id}/download`)).statusCode).toBe(409);
  });

  it("with no trainer serving the queue, inference answers 504 after INFERENCE_TIMEOUT_MS", async () => {
    const lonely = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_models_lonely`, INFERENCE_TIMEOUT_MS: "300" });
    try {
      const api = withKey(await lonely.app(), (await lonely.key("models-a")).key);
      const res = await api.inject({ method: "POST", url: `/v1/models/${lmModel}/generate`, payload: { prompt: "a", maxLength: 2 } });
      expect(res.statusCode).toBe(504);
      expect(res.json()).toMatchObject({ error: "inference_timeout", message: expect.stringMatching(/INFERENCE_TIMEOUT_MS = 300 ms/) });
    } finally {
      await lonely.close();
    }
  });

  it("a second project's key gets 404 for the first's models, searches and trial weights, and lists none", async () => {
    for (const [method, url, payload] of [
      ["GET", `/v1/models/${lmModel}`],
      ["GET", `/v1/models/${lmModel}/download`],
      ["POST", `/v1/models/${lmModel}/generate`, { prompt: "a", maxLength: 2 }],
      ["POST", `/v1/models/${flowModel}/sample`, { n: 1 }],
      ["POST", `/v1/models/${flowModel}/log-prob`, { rows: [[0, 0]] }],
      ["POST", `/v1/searches/${lmSearch.id}/retrain`, { steps: 5 }],
      ["GET", `/v1/trials/${lmSearch.best.id}/model`],
    ] as const) {
      const res = await b.inject({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
    }
    expect((await b.inject("/v1/models")).json().items).toEqual([]);
  });
});
