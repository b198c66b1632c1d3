/**
 * Users' search spaces over REST: posted as JSON or YAML, checked against the catalogue with errors naming the
 * place in the space, immutable and versioned by content, listed beside the built-in ones, per project, and
 * snapshotted with the searches that name them (by name or name@version). Training decisions (`train.<option>`)
 * really set the trial's options: two trials with different `train.learningRate` train with them (their learning
 * curves' learning rates), run by an orchestrator and a trainer in this process.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let a: Client;
let b: Client;
const processes: ProcessHandle[] = [];

/** A small transformer space of the user's: two training settings searched with one fixed architecture. */
const TINY_LM = {
  name: "tiny-lm",
  family: "transformer",
  description: "a small LM space with its learning rate searched",
  decisions: [
    { name: "n_layers", type: "integer", min: 1, max: 1 },
    { name: "d_model", type: "categorical", values: [16] },
    { name: "n_heads", type: "categorical", values: [2] },
    { name: "ff_mult", type: "categorical", values: [1] },
    { name: "positions", type: "categorical", values: ["learned"] },
    { name: "norm", type: "categorical", values: ["pre_ln"] },
    { name: "dropout", type: "categorical", values: [0] },
    { name: "layers", type: "repeat", count: "n_layers", decisions: [{ name: "attention", type: "categorical", values: ["full"] }, { name: "activation", type: "categorical", values: ["relu"] }] },
    { name: "train.learningRate", type: "categorical", values: [0.002, 0.02] },
    { name: "train.warmupSteps", type: "categorical", values: [0] },
  ],
};

const YAML_FLOW = `
name: my-flow
family: flow
decisions:
  - {name: steps, type: integer, min: 2, max: 4}
  - {name: coupling, type: categorical, values: [affine, additive]}
  - {name: hidden_width, type: categorical, values: [16, 32]}
  - {name: hidden_depth, type: integer, min: 1, max: 2}
  - {name: train.batchSize, type: categorical, values: [64, 128]}
constraints:
  - "steps * hidden_width <= 128"
`;

const post = (client: Client, body: unknown, type = "application/json") =>
  client.inject({ method: "POST", url: "/v1/search-spaces", headers: { "content-type": type }, payload: typeof body === "string" ? body : JSON.stringify(body) });

beforeAll(async () => {
  database = await freshDatabase("spaces_user");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_spaces_user` });
  app = await services.app();
  a = withKey(app, (await services.key("spaces-a")).key);
  b = withKey(app, (await services.key("spaces-b")).key);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services.close();
  await database.drop();
});

describe("posting a space", () => {
  it("a valid JSON space: 201 with its content hash as version, 200 for the same content again, listed beside the built-ins", async () => {
    const created = await post(a, TINY_LM);
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ id: "tiny-lm", builtin: false, family: "transformer", evaluators: ["train"], size: 2 });
    expect(body.version).toMatch(/^[0-9a-f]{12}$/);
    expect(created.headers.location).toBe(`/v1/search-spaces/tiny-lm/${body.version}`);
    // The same content, keys in another order: the same version, nothing new stored.
    const again = await post(a, { decisions: TINY_LM.decisions, family: "transformer", description: TINY_LM.description, name: "tiny-lm" });
    expect(again.statusCode).toBe(200);
    expect(again.json().version).toBe(body.version);
    const list = (await a.inject("/v1/search-spaces")).json().items;
    expect(list.find((s: { id: string }) => s.id === "transformer-lm")).toMatchObject({ builtin: true, evaluators: ["train"] });
    expect(list.find((s: { id: string }) => s.id === "tiny-lm")).toMatchObject({ builtin: false, version: body.version, versions: 1, decisions: 10 });
  });

  it("YAML (application/yaml and text/yaml), and a YAML syntax error with its line", async () => {
    const res = await post(a, YAML_FLOW, "application/yaml");
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ id: "my-flow", family: "flow", evaluators: ["train"] });
    expect((await post(a, YAML_FLOW, "text/yaml")).statusCode).toBe(200);
    const broken = await post(a, "name: x\ndecisions: [1, 2\n  family: flow", "application/yaml");
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ error: "invalid_yaml", message: expect.stringMatching(/line \d+/) });
  });

  it("a new content is a new version; GET :name lists every version, newest first, and :name/:version one", async () => {
    const v1 = (await a.inject("/v1/search-spaces/tiny-lm")).json().version;
    const changed = await post(a, { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "d_model" ? { ...d, values: [16, 32] } : d)) });
    expect(changed.statusCode).toBe(201);
    const v2 = changed.json().version;
    expect(v2).not.toBe(v1);
    const all = (await a.inject("/v1/search-spaces/tiny-lm")).json();
    expect(all).toMatchObject({ id: "tiny-lm", builtin: false, version: v2 });
    expect(all.versions.map((v: { version: string }) => v.version)).toEqual([v2, v1]);
    const one = await a.inject(`/v1/search-spaces/tiny-lm/${v1}`);
    expect(one.statusCode).toBe(200);
    expect(one.json().definition.decisions.find((d: { name: string }) => d.name === "d_model").values).toEqual([16]);
    expect((await a.inject("/v1/search-spaces/tiny-lm/0123456789ab")).statusCode).toBe(404);
    expect((await a.inject("/v1/search-spaces/nasbench201/1")).json()).toMatchObject({ id: "nasbench201", builtin: true });
  });

  const invalid: Array<[string, unknown, string, RegExp]> = [
    ["an unknown block kind", { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "layers" ? { ...d, decisions: [{ name: "attention", type: "categorical", values: ["full", "flash"] }, d.decisions![1]] } : d)) }, "decisions[7].decisions[0].values[1]", /"flash" is not a value the transformer family takes for attention \(full, local, strided, linear\)/],
    ["a typo in a field", { ...TINY_LM, decisions: [...TINY_LM.decisions.slice(0, 3), { name: "ff_mult", type: "categorical", choices: [1] }, ...TINY_LM.decisions.slice(4)] }, "decisions[3].choices", /unknown field of a categorical decision/],
    ["a decision the family does not have", { ...TINY_LM, decisions: [...TINY_LM.decisions, { name: "n_experts", type: "integer", min: 1, max: 4 }] }, "decisions[10].name", /not a field of the transformer family's architecture/],
    ["a missing field of the family", { ...TINY_LM, decisions: TINY_LM.decisions.filter((d) => d.name !== "norm") }, "decisions", /needs a decision 'norm'/],
    ["a training setting the train evaluator does not have", { ...TINY_LM, decisions: [...TINY_LM.decisions, { name: "train.momentum", type: "categorical", values: [0.9] }] }, "decisions[10].name", /'momentum' is not a training setting/],
    ["a training setting out of its bounds", { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "train.learningRate" ? { ...d, values: [0.01, 5] } : d)) }, "decisions[8].values[1]", /5 is not a value of the train evaluator's learningRate/],
    ["a constraint naming an unknown decision", { ...TINY_LM, constraints: ["d_model % heads == 0"] }, "constraints[0]", /names 'heads'/],
    ["a constraint that is not an expression", { ...TINY_LM, constraints: ["d_model %% 2"] }, "constraints[0]", /not an expression/],
    ["an unsatisfiable constraint", { ...TINY_LM, constraints: ["d_model > 100"] }, "constraints", /no valid architecture/],
    ["architectures the family cannot build", { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "n_heads" ? { ...d, values: [3] } : d)) }, "decisions", /cannot build .*d_model must be divisible by n_heads/],
    ["a repeat over a categorical", { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "n_layers" ? { name: "n_layers", type: "categorical", values: [1] } : d)) }, "decisions[7].count", /earlier integer decision/],
    ["a version given", { ...TINY_LM, version: 2 }, "version", /hash of its content/],
    ["an empty key (found by the fuzzer)", { ...TINY_LM, "": "" }, "(body)", /unknown field ""/],
    ["a built-in name", { ...TINY_LM, name: "transformer-lm" }, "name", /built-in space/],
    ["an unknown family", { ...TINY_LM, family: "mlp" }, "family", /transformer, flow, nasbench201/],
    ["an integer with min > max", { ...TINY_LM, decisions: TINY_LM.decisions.map((d) => (d.name === "n_layers" ? { ...d, min: 3, max: 1 } : d)) }, "decisions[0]", /max must be ≥ min/],
    ["a duplicate decision", { ...TINY_LM, decisions: [...TINY_LM.decisions, TINY_LM.decisions[1]] }, "decisions[10].name", /duplicate decision 'd_model'/],
  ];
  for (const [what, space, path, message] of invalid) {
    it(`invalid: ${what} → 400 naming ${path}`, async () => {
      const res = await post(a, space);
      expect(res.statusCode, res.body).toBe(400);
      const issue = res.json().issues.find((i: { field: string }) => i.field === path);
      expect(issue, res.body).toBeDefined();
      expect(issue.message).toMatch(message);
    });
  }

  it("a body that is not an object, and a content type the route does not take", async () => {
    expect((await post(a, "[1, 2]")).statusCode).toBe(400);
    const res = await a.inject({ method: "POST", url: "/v1/search-spaces", headers: { "content-type": "text/plain" }, payload: "name: x" });
    expect(res.statusCode).toBe(415);
  });
});

describe("tenancy", () => {
  it("another project does not see a project's spaces, and may post one of the same name", async () => {
    expect((await b.inject("/v1/search-spaces/tiny-lm")).statusCode).toBe(404);
    expect((await b.inject("/v1/search-spaces")).json().items.some((s: { id: string }) => s.id === "tiny-lm")).toBe(false);
    const search = await b.inject({ method: "POST", url: "/v1/searches", payload: lmSearch("tiny-lm") });
    expect(search.statusCode).toBe(400);
    expect(search.json().issues[0]).toMatchObject({ field: "space", message: expect.stringMatching(/unknown search space 'tiny-lm'/) });
    const own = await post(b, TINY_LM);
    expect(own.statusCode).toBe(201);
  });
});

function lmSearch(space: string, overrides: Record<string, unknown> = {}) {
  return {
    name: "user-space", space, strategy: { type: "random" },
    evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 12 }, batchSize: 4, contextLength: 16, evalSequences: 8, sampleLength: 0, logEvery: 1 },
    objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 2, maxParallel: 2 }, seed: 1, ...overrides,
  };
}

describe("searches on a user's space", () => {
  it("name@version that does not exist, and training decisions a search cannot honour, are 400s naming the field", async () => {
    const bad = await a.inject({ method: "POST", url: "/v1/searches", payload: lmSearch("tiny-lm@ffffffffffff") });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0]).toMatchObject({ field: "space", message: expect.stringMatching(/no version 'ffffffffffff'/) });
    const darts = await a.inject({ method: "POST", url: "/v1/searches", payload: lmSearch("tiny-lm", { strategy: { type: "darts" } }) });
    expect(darts.statusCode).toBe(400);
    expect(darts.json().issues[0].field).toBe("strategy.type");
  });

  it("runs on the version it named (snapshotted), and trains each trial with its train.learningRate", async () => {
    const versions = (await a.inject("/v1/search-spaces/tiny-lm")).json().versions.map((v: { version: string }) => v.version);
    const v1 = versions.at(-1);
    const created = await a.inject({ method: "POST", url: "/v1/searches", payload: lmSearch(`tiny-lm@${v1}`) });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ space: "tiny-lm", spaceVersion: v1 });
    const id = created.json().id;
    const config = { ...services.config, TRAINER_CONCURRENCY: 2, WORKER_NAME: "spaces-user", LOG_LEVEL: "silent" as const };
    processes.push(await startOrchestrator(config), await startTrainer(config));
    const search = await waitFor("the search to end", async () => {
      const s = (await a.inject(`/v1/searches/${id}`)).json();
      return ["completed", "failed"].includes(s.status) ? s : undefined;
    }, 120_000);
    expect(search.status, JSON.stringify(search)).toBe("completed");
    const trials = (await a.inject(`/v1/searches/${id}/trials`)).json().items;
    expect(trials).toHaveLength(2);
    // The random strategy proposes distinct architectures: the two learning rates, each trained with its own.
    expect(trials.map((t: { architecture: Record<string, unknown> }) => t.architecture["train.learningRate"]).sort()).toEqual([0.002, 0.02]);
    for (const t of trials) {
      expect(t.architecture.d_model).toBe(16); // v1's only width, though v2 also has 32
      const detail = (await a.inject(`/v1/trials/${t.id}`)).json();
      const lrs = detail.curve.map((p: { values: Record<string, number> }) => p.values.lr).filter((v: unknown) => typeof v === "number");
      expect(lrs.length).toBeGreaterThan(0);
      // Warm-up 0 (train.warmupSteps): the first step is at the peak, the decided rate; cosine decay below it after.
      expect(Math.max(...lrs)).toBeCloseTo(t.architecture["train.learningRate"], 6);
    }
  }, 150_000);
});
