/**
 * The winner, taken away, over REST alone with separate processes (API, orchestrator, two trainers): post a space of
 * one's own (YAML, with a training setting searched beside the architecture), search it, export the trials, retrain
 * the winner, download it and generate text from it — the download giving the trainers' own answer; the same for a
 * flow (sample points, log-densities). Built-in tasks (Moby-Dick characters, 8 Gaussians): the dataset path is
 * tests/e2e/byo-data.test.ts. Tiny models and few steps: checked for what they must be, not for quality.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, type LoadedFlow, type LoadedTransformer } from "../../src/models/artifact/index.js";
import { startCluster, type Cluster } from "../setup/cluster.js";

let cluster: Cluster;

const LM_YAML = `
name: e2e-lm
family: transformer
decisions:
  - {name: n_layers, type: integer, min: 1, max: 1}
  - {name: d_model, type: categorical, values: [16, 24]}
  - {name: n_heads, type: categorical, values: [2]}
  - {name: ff_mult, type: categorical, values: [2]}
  - {name: positions, type: categorical, values: [learned]}
  - {name: norm, type: categorical, values: [pre_ln]}
  - {name: dropout, type: categorical, values: [0]}
  - name: layers
    type: repeat
    count: n_layers
    decisions:
      - {name: attention, type: categorical, values: [full]}
      - {name: activation, type: categorical, values: [relu, gelu]}
  - {name: train.learningRate, type: categorical, values: [0.003, 0.01]}
`;
const FLOW_SPACE = {
  name: "e2e-flow", family: "flow",
  decisions: [
    { name: "steps", type: "integer", min: 2, max: 2 }, { name: "coupling", type: "categorical", values: ["affine"] }, { name: "hidden_width", type: "categorical", values: [16] },
    { name: "hidden_depth", type: "integer", min: 1, max: 1 }, { name: "permutation", type: "categorical", values: ["reverse"] },
  ],
};

beforeAll(async () => {
  cluster = await startCluster("e2e_retrain", { env: { SEARCH_KEEP_TOP_K: "1" } });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

async function waitForModel(id: string): Promise<any> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const m = await cluster.get(`/v1/models/${id}`);
    if (m.status !== "training") return m;
    if (Date.now() > deadline) throw new Error(`model ${id} still training: ${cluster.outputs().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("retrain the winner and use it", () => {
  it("a language model: own space in YAML, search, export, retrain, download, generate", async () => {
    const space = await cluster.fetch("/v1/search-spaces", { method: "POST", headers: { "content-type": "application/yaml" }, body: LM_YAML });
    expect(space.status, await space.clone().text()).toBe(201);
    const version = (await space.json()).version;
    const search = await cluster.post("/v1/searches", {
      name: "e2e-lm", space: `e2e-lm@${version}`, strategy: { type: "random" },
      evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 8 }, batchSize: 4, contextLength: 16, evalSequences: 4, sampleLength: 0 },
      objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 11,
    });
    expect(search.status, JSON.stringify(search.body)).toBe(201);
    expect(search.body.spaceVersion).toBe(version);
    const done = await cluster.waitForSearch(search.body.id, 90_000);
    expect(done.status, cluster.outputs().slice(-3000)).toBe("completed");

    const csv = await (await cluster.fetch(`/v1/searches/${done.id}/trials.csv`)).text();
    const lines = csv.trimEnd().split("\r\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("arch.train.learningRate");
    expect(lines[0]).toContain("metric.val_bpc");

    const retrain = await cluster.post(`/v1/searches/${done.id}/retrain`, { steps: 10 });
    expect(retrain.status, JSON.stringify(retrain.body)).toBe(202);
    const model = await waitForModel(retrain.body.modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(model.source).toMatchObject({ searchId: done.id, trialId: done.best.id });
    expect(model.scores.test_bpc).toBeGreaterThan(0);

    const bundle = await (await cluster.fetch(`/v1/models/${model.id}/download`)).json();
    expect(bundle["model.json"]).toMatchObject({ family: "transformer", task: "charlm-moby-dick", unknownToken: null });
    expect(bundle["model.json"].trainConfig.learningRate).toBe(done.best.architecture["train.learningRate"]);
    const body = { prompt: "Call me ", maxLength: 30, temperature: 0.7, seed: 3 };
    const generated = await cluster.post(`/v1/models/${model.id}/generate`, body);
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
    expect(Array.from(generated.body.text as string)).toHaveLength(30);
    const local = (await loadModel(bundle)) as LoadedTransformer;
    expect(local.generate(body)).toBe(generated.body.text);
    local.dispose();
  }, 240_000);

  it("a flow: search, retrain, sample points and log-densities equal to the downloaded model's", async () => {
    expect((await cluster.post("/v1/search-spaces", FLOW_SPACE)).status).toBe(201);
    const search = await cluster.post("/v1/searches", {
      name: "e2e-flow", space: "e2e-flow", strategy: { type: "random" },
      evaluator: { type: "train", task: "8gaussians", budget: { steps: 30 }, batchSize: 128, samples: 100 },
      objective: { metric: "test_nll", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 5,
    });
    expect(search.status, JSON.stringify(search.body)).toBe(201);
    const done = await cluster.waitForSearch(search.body.id, 90_000);
    expect(done.status, cluster.outputs().slice(-3000)).toBe("completed");
    const retrain = await cluster.post(`/v1/searches/${done.id}/retrain`, { steps: 40 });
    expect(retrain.status).toBe(202);
    const model = await waitForModel(retrain.body.modelId);
    expect(model.status, JSON.stringify(model)).toBe("ready");
    expect(typeof model.scores.test_nll).toBe("number");

    const sample = await cluster.post(`/v1/models/${model.id}/sample`, { n: 50, seed: 2 });
    expect(sample.status, JSON.stringify(sample.body)).toBe(200);
    expect(sample.body.points).toHaveLength(50);
    const probe = [[0, 0], [2, 2], [60, -60]];
    const lp = await cluster.post(`/v1/models/${model.id}/log-prob`, { rows: probe });
    expect(lp.status, JSON.stringify(lp.body)).toBe(200);
    expect(lp.body.logProb[2] ?? -Infinity).toBeLessThan(lp.body.logProb[1]);
    const generate = await cluster.post(`/v1/models/${model.id}/generate`, { prompt: "x", maxLength: 2 });
    expect(generate.status).toBe(400);
    const local = (await loadModel(await (await cluster.fetch(`/v1/models/${model.id}/download`)).json())) as LoadedFlow;
    local.logProb(probe.slice(0, 2)).forEach((v, i) => expect(v).toBeCloseTo(lp.body.logProb[i], 3));
    local.dispose();
  }, 240_000);
});
