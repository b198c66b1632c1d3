/**
 * The issue's "Done when", over REST alone with separate processes (API, orchestrator, two trainers): a user uploads
 * a corpus the service has never seen (generated here), searches the Transformer space on it, retrains the winner,
 * downloads it and generates text from it; the same for a CSV of vectors with the flow space (sample points and
 * log-densities). Tiny models and few steps: the models are checked for what they must be (the dataset's
 * vocabulary, the data's units, the downloaded file giving the trainers' answers), not for quality.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, type LoadedFlow, type LoadedTransformer } from "../../src/models/artifact/index.js";
import { startCluster, type Cluster } from "../setup/cluster.js";
import { makeCorpus, makeVectorsCsv, uploadDataset } from "../setup/datasets.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster("e2e_byo", { env: { SEARCH_KEEP_TOP_K: "2" } });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

async function waitForModel(id: string): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const m = await cluster.get(`/v1/models/${id}`);
    if (m.status !== "training") return m;
    if (Date.now() > deadline) throw new Error(`model ${id} still training: ${cluster.outputs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const postJson = (url: string, body: unknown) => cluster.post(url, body);

describe("bring your own data, take the winning model away", () => {
  it("text: upload a corpus, search the Transformer space on it, retrain the winner, download it, generate", async () => {
    const corpus = makeCorpus(7);
    const dataset = await uploadDataset(cluster, { kind: "text", name: "tiny-corpus", body: corpus });
    const search = await postJson("/v1/searches", {
      name: "byo-text", space: "transformer-lm", strategy: { type: "random" },
      evaluator: { type: "train", dataset: dataset.id, budget: { steps: 20 }, batchSize: 4, contextLength: 16, evalSequences: 8, sampleLength: 0 },
      objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 11,
    });
    expect(search.status, JSON.stringify(search.body)).toBe(201);
    const done = await cluster.waitForSearch(search.body.id, 120_000);
    expect(done.status, cluster.outputs().slice(-3000)).toBe("completed");
    // The leaderboard of the dataset's own task: its trials, never mixed with Moby-Dick's.
    const task = `charlm:${dataset.id}@20steps`;
    expect(done.task).toBe(task);
    const board = await cluster.get(`/v1/leaderboard?space=transformer-lm&task=${encodeURIComponent(task)}&metric=val_bpc`);
    expect(board.rows.length, JSON.stringify(board)).toBeGreaterThan(0);
    expect(board.rows[0].trialId).toBe(done.best.id);
    expect(board.rows[0].metrics.val_bpc).toBe(board.rows[0].objective);
    const other = await cluster.get(`/v1/leaderboard?space=transformer-lm&task=${encodeURIComponent("charlm-moby-dick@20steps")}&metric=val_bpc`);
    expect(other.rows).toEqual([]);

    const retrain = await postJson(`/v1/searches/${done.id}/retrain`, { steps: 30 });
    expect(retrain.status, JSON.stringify(retrain.body)).toBe(202);
    const model = await waitForModel(retrain.body.modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(model.source).toMatchObject({ searchId: done.id, trialId: done.best.id });
    expect(typeof model.scores.test_bpc).toBe("number");

    const download = await cluster.fetch(`/v1/models/${model.id}/download`);
    expect(download.status).toBe(200);
    const bundle = await download.json();
    // The dataset's own characters: the vocabulary comes from its training split, not from Moby-Dick.
    const chars = new Set(Array.from(corpus));
    const vocabulary: string[] = bundle["model.json"].vocabulary;
    for (const c of vocabulary.filter((t) => Array.from(t).length === 1)) expect(chars.has(c), `vocabulary has ${JSON.stringify(c)}`).toBe(true);
    const prompt = corpus.slice(0, 6);
    const body = { prompt, maxLength: 40, temperature: 0.7, seed: 3 };
    const generated = await postJson(`/v1/models/${model.id}/generate`, body);
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
    const text: string = generated.body.text;
    expect(Array.from(text)).toHaveLength(40);
    const local = (await loadModel(bundle)) as LoadedTransformer;
    expect(local.generate(body)).toBe(text); // the download is the model the trainers serve
    local.dispose();
  }, 300_000);

  it("vectors: upload a CSV, search the flow space on it, retrain, sample points and log-densities in the data's units", async () => {
    const { csv, rows } = makeVectorsCsv(5, { rows: 1500, dim: 3 });
    const dataset = await uploadDataset(cluster, { kind: "vectors", name: "tiny-vectors.csv", body: csv });
    const search = await postJson("/v1/searches", {
      name: "byo-vectors", space: "flow-2d", strategy: { type: "random" },
      evaluator: { type: "train", dataset: dataset.id, budget: { steps: 40 }, batchSize: 128, samples: 100 },
      objective: { metric: "test_nll", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 5,
    });
    expect(search.status, JSON.stringify(search.body)).toBe(201);
    const done = await cluster.waitForSearch(search.body.id, 120_000);
    expect(done.status, cluster.outputs().slice(-3000)).toBe("completed");
    expect(done.task).toBe(`vectors:${dataset.id}@40steps`);
    // test_nll in nats per row of the data's own units (standardisation's log-det accounted for): the data's true
    // entropy is about 6.05 nats (two modes, columns of std 1, 1.5, 2); in standardised units it would be about 2.4.
    expect(done.best.metrics.test_nll).toBeGreaterThan(5);
    expect(done.best.metrics.test_nll).toBeLessThan(15);
    const retrain = await postJson(`/v1/searches/${done.id}/retrain`, { steps: 60 });
    expect(retrain.status).toBe(202);
    const model = await waitForModel(retrain.body.modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(typeof model.scores.test_nll).toBe("number");

    const sample = await postJson(`/v1/models/${model.id}/sample`, { n: 200, seed: 2 });
    expect(sample.status, JSON.stringify(sample.body)).toBe(200);
    const points: number[][] = sample.body.points;
    expect(points).toHaveLength(200);
    // In the data's own units: the samples' column means sit near the data's (the data is far from the origin).
    for (let d = 0; d < 3; d++) {
      const dataMean = rows.reduce((s, r) => s + r[d]!, 0) / rows.length;
      const sampleMean = points.reduce((s, p) => s + p[d]!, 0) / points.length;
      const dataStd = Math.sqrt(rows.reduce((s, r) => s + (r[d]! - dataMean) ** 2, 0) / rows.length);
      expect(Math.abs(sampleMean - dataMean), `column ${d}`).toBeLessThan(1.5 * dataStd);
    }
    const probe = [rows[0]!, rows[1]!, rows[0]!.map((v) => v + 1000)];
    const lp = await postJson(`/v1/models/${model.id}/log-prob`, { rows: probe });
    expect(lp.status, JSON.stringify(lp.body)).toBe(200);
    expect(lp.body.logProb).toHaveLength(3);
    expect(lp.body.logProb[2] ?? -Infinity).toBeLessThan(lp.body.logProb[0]);
    const local = (await loadModel(await (await cluster.fetch(`/v1/models/${model.id}/download`)).json())) as LoadedFlow;
    local.logProb(probe.slice(0, 2)).forEach((v, i) => expect(v).toBeCloseTo(lp.body.logProb[i], 3));
    local.dispose();
  }, 300_000);
});
