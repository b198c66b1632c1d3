/**
 * Models: a search's winner trained and usable.
 *   POST /v1/searches/:id/retrain {steps}   → 202 {modelId}: a trainer retrains the best architecture on train +
 *                                             validation for `steps` and scores it on test (src/trainer/retrain.ts)
 *   GET  /v1/models, /v1/models/:id         → status training | ready | failed, scores, architecture, source
 *   GET  /v1/models/:id/download            → the model as one JSON bundle (src/models/artifact/format.ts), loadable
 *                                             with loadModel(); GET /v1/trials/:id/model the same for a kept trial
 *   POST /v1/models/:id/generate | sample | log-prob → a quick check, answered by a trainer
 * The API never loads tfjs: retraining and inference are jobs that trainers serve (queue/queues.ts); an inference
 * request waits for its answer up to INFERENCE_TIMEOUT_MS (then 504). Every statement is scoped by the key's
 * project: another project's search, trial or model is not found (404).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { JsonValue } from "../../core/json.js";
import { bestTrial, createModel, getModel, listModels, modelFiles, trialWeights, type ModelRow, type StoredModelFiles } from "../../db/models.js";
import { getSearch } from "../../db/searches.js";
import { InferenceTimeout, type InferenceJob } from "../../queue/queues.js";
import { ApiError, badRequest, errorBodySchema, notFound } from "../errors.js";
import { pageQuery, uuidParam } from "../schemas.js";

const tags = ["models"];
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The download's layout (src/models/artifact/format.ts: BUNDLE_FORMAT; the API builds it without loading models/). */
function bundle(files: StoredModelFiles) {
  return { format: "nas-model-bundle/1", "model.json": files.manifest, "weights.bin": files.weights.toString("base64") };
}

/** Metrics of a model that are scores on held-out data. */
const isScore = (key: string) => key.startsWith("test_") || key === "bits_per_dim" || key === "gap_nats";

function modelView(m: ModelRow) {
  const metrics = m.metrics ?? null;
  return {
    id: m.id,
    status: m.status,
    family: m.family,
    source: { searchId: m.searchId, trialId: m.trialId, space: m.space, task: m.task },
    architecture: m.architecture,
    steps: m.steps,
    scores: metrics ? (Object.fromEntries(Object.entries(metrics).filter(([k, v]) => isScore(k) && typeof v === "number")) as Record<string, number>) : null,
    metrics,
    error: m.error,
    attempts: m.attempts,
    createdAt: m.createdAt.toISOString(),
    startedAt: iso(m.startedAt),
    finishedAt: iso(m.finishedAt),
    downloadUrl: m.status === "ready" ? `/v1/models/${m.id}/download` : null,
  };
}

const modelSchema = z
  .object({
    id: z.string(),
    status: z.enum(["training", "ready", "failed"]),
    family: z.string().describe("transformer (a language model: generate) or flow (a density: sample, log-prob)"),
    source: z.object({ searchId: z.string(), trialId: z.string().nullable(), space: z.string(), task: z.string() }).describe("the search and trial whose architecture was retrained"),
    architecture: z.unknown(),
    steps: z.number().int(),
    scores: z.record(z.string(), z.number()).nullable().describe("test-set scores (test_bpc, test_loss, test_nll, bits_per_dim, …) once ready"),
    metrics: z.unknown().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    downloadUrl: z.string().nullable(),
  })
  .describe("Model");

const bundleSchema = z.object({ format: z.string(), "model.json": z.unknown(), "weights.bin": z.string().describe("base64 of weights.bin (float32 little-endian)") }).describe("ModelBundle");

const seed = z.number().int().min(0).max(2 ** 31 - 1).optional().describe("seeds the sampling (default 0)");
const generateBody = z.strictObject({
  prompt: z.string().max(10_000).default("").describe("text to continue (default empty); every character must be in the model's vocabulary, unless the model has an unknown token (a text dataset's <unk>), to which unknown characters map"),
  maxLength: z.number().int().min(1).max(2000).default(200).describe("characters (tokens) to generate (default 200)"),
  temperature: z.number().positive().max(100).default(1).describe("sampling temperature (default 1)"),
  seed,
});
const sampleBody = z.strictObject({ n: z.number().int().min(1).max(1000).describe("points (or images) to draw"), seed });
const logProbBody = z.strictObject({
  rows: z.array(z.array(z.number())).min(1).max(10_000).describe("data rows, each with the model's dimension (in the data's own units)"),
});
/** Values a sample answer may hold (n × dimension). */
const MAX_SAMPLE_VALUES = 200_000;

export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, queues, spaces, config } = app.services;

  app.post(
    "/v1/searches/:id/retrain",
    {
      schema: {
        tags,
        summary: "Retrain the search's best architecture for longer, on train + validation, scored on test: 202 with the model's id",
        params: uuidParam,
        body: z.strictObject({ steps: z.number().int().min(1).max(1_000_000).describe("training steps (at most MAX_TRIAL_STEPS)") }),
        response: { 202: z.object({ modelId: z.string(), status: z.literal("training"), url: z.string() }), 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const search = await getSearch(db, request.principal, request.params.id);
      if (!search) throw notFound("search", request.params.id);
      const { steps } = request.body;
      if (steps > config.MAX_TRIAL_STEPS) throw badRequest("steps", `at most MAX_TRIAL_STEPS = ${config.MAX_TRIAL_STEPS}`);
      const evaluator = (search.evaluator as { type?: string }).type;
      if (evaluator !== "train") throw new ApiError(409, "conflict", `the search uses the ${evaluator} evaluator, which trains nothing: only train searches have a model to retrain`);
      const best = await bestTrial(db, request.principal, search.id);
      if (!best) throw new ApiError(409, "conflict", "the search has no completed trial yet: retrain once one has completed");
      const family = (search.spaceDefinition as { family?: string } | null)?.family ?? spaces.get(search.space)?.family ?? "unknown";
      const model = await createModel(db, request.principal, { searchId: search.id, trialId: best.id, architecture: best.architecture, steps, family });
      await queues.enqueueRetrain(model.id);
      reply.status(202).header("location", `/v1/models/${model.id}`);
      return { modelId: model.id, status: "training" as const, url: `/v1/models/${model.id}` };
    },
  );

  app.get(
    "/v1/models",
    {
      schema: {
        tags,
        summary: "The project's models, newest first",
        querystring: pageQuery.extend({ searchId: z.string().uuid().optional().describe("only models of this search") }),
        response: { 200: z.object({ items: z.array(modelSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const page = await listModels(db, request.principal, request.query);
      return { items: page.items.map(modelView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/v1/models/:id",
    { schema: { tags, summary: "A model: status, scores, architecture, source search and trial", params: uuidParam, response: { 200: modelSchema, 400: errorBodySchema, 404: errorBodySchema } } },
    async (request) => {
      const model = await getModel(db, request.principal, request.params.id);
      if (!model) throw notFound("model", request.params.id);
      return modelView(model);
    },
  );

  app.get(
    "/v1/models/:id/download",
    {
      schema: {
        tags,
        summary: "The model's files as one JSON bundle {format, model.json, weights.bin (base64)}, loadable with loadModel() (README)",
        params: uuidParam,
        response: { 200: bundleSchema, 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const model = await getModel(db, request.principal, request.params.id);
      if (!model) throw notFound("model", request.params.id);
      if (model.status !== "ready") throw new ApiError(409, "conflict", `the model is ${model.status}, not ready`);
      const files = await modelFiles(db, request.principal, model.id);
      if (!files) throw new ApiError(409, "conflict", "the model is not ready");
      reply.header("content-disposition", `attachment; filename="model-${model.id}.json"`);
      return bundle(files);
    },
  );

  app.get(
    "/v1/trials/:id/model",
    {
      schema: {
        tags,
        summary: "A trial's trained weights as a model bundle (kept for the best SEARCH_KEEP_TOP_K trials of a train search)",
        params: uuidParam,
        response: { 200: bundleSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const files = await trialWeights(db, request.principal, request.params.id);
      if (!files) throw notFound("trial weights", request.params.id);
      reply.header("content-disposition", `attachment; filename="trial-${request.params.id}.json"`);
      return bundle(files);
    },
  );

  /** The ready model of the request, of the family the route serves (400 naming the routes that fit it otherwise). */
  const readyModel = async (principal: Parameters<typeof getModel>[1], id: string, family: "transformer" | "flow", route: string) => {
    const model = await getModel(db, principal, id);
    if (!model) throw notFound("model", id);
    if (model.family !== family) {
      const fits = model.family === "flow" ? "POST /v1/models/:id/sample and /log-prob" : "POST /v1/models/:id/generate";
      throw new ApiError(400, "bad_request", `${route} is for ${family === "transformer" ? "language models" : "flows"}; this model is a ${model.family}: use ${fits}`);
    }
    if (model.status !== "ready") throw new ApiError(409, "conflict", `the model is ${model.status}, not ready${model.status === "failed" ? `: ${model.error}` : ""}`);
    return model as ModelRow & { manifest: Record<string, JsonValue> };
  };

  const infer = async (job: InferenceJob) => {
    let answer;
    try {
      answer = await queues.runInference(job, config.INFERENCE_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof InferenceTimeout) throw new ApiError(504, "inference_timeout", `${err.message}: are trainers running?`);
      throw err;
    }
    if (!answer.ok) throw new ApiError(400, "bad_request", answer.error);
    return answer.result;
  };

  app.post(
    "/v1/models/:id/generate",
    {
      config: { role: "read" },
      schema: {
        tags,
        summary: "Language models: text generated after a prompt",
        params: uuidParam,
        body: generateBody,
        response: { 200: z.object({ text: z.string() }), 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 504: errorBodySchema },
      },
    },
    async (request) => {
      const model = await readyModel(request.principal, request.params.id, "transformer", "POST /v1/models/:id/generate");
      const vocabulary = (model.manifest.vocabulary ?? []) as string[];
      // A model with an unknown token (a text dataset's <unk>) takes any prompt: characters it never saw map to it.
      const takesUnknown = typeof model.manifest.unknownToken === "number";
      if (!takesUnknown && vocabulary.every((t) => Array.from(t).length === 1)) {
        const known = new Set(vocabulary);
        const unknown = [...new Set(Array.from(request.body.prompt))].filter((c) => !known.has(c));
        if (unknown.length) throw badRequest("prompt", `${unknown.slice(0, 10).map((c) => JSON.stringify(c)).join(", ")} ${unknown.length === 1 ? "is" : "are"} not in the model's vocabulary of ${vocabulary.length} characters`);
      }
      return (await infer({ modelId: model.id, op: "generate", input: request.body })) as { text: string };
    },
  );

  app.post(
    "/v1/models/:id/sample",
    {
      config: { role: "read" },
      schema: {
        tags,
        summary: "Flows: n points (or images, pixel values in [0, 256)) drawn from the model, in the data's own units",
        params: uuidParam,
        body: sampleBody,
        response: {
          200: z.object({ points: z.array(z.array(z.number())).optional(), images: z.array(z.array(z.number())).optional(), shape: z.array(z.number().int()).optional() }),
          400: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
          504: errorBodySchema,
        },
      },
    },
    async (request) => {
      const model = await readyModel(request.principal, request.params.id, "flow", "POST /v1/models/:id/sample");
      const dim = (model.manifest.input as { dim?: number } | undefined)?.dim ?? 1;
      if (request.body.n * dim > MAX_SAMPLE_VALUES) throw badRequest("n", `at most ${Math.floor(MAX_SAMPLE_VALUES / dim)} samples of this model's ${dim} dimensions at once`);
      return infer({ modelId: model.id, op: "sample", input: request.body });
    },
  );

  app.post(
    "/v1/models/:id/log-prob",
    {
      config: { role: "read" },
      schema: {
        tags,
        summary: "Flows: the log-density (nats) of each row under the model (null where it is −∞)",
        params: uuidParam,
        body: logProbBody,
        response: { 200: z.object({ logProb: z.array(z.number().nullable()) }), 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 504: errorBodySchema },
      },
    },
    async (request) => {
      const model = await readyModel(request.principal, request.params.id, "flow", "POST /v1/models/:id/log-prob");
      const dim = (model.manifest.input as { dim?: number } | undefined)?.dim;
      const bad = request.body.rows.findIndex((r) => r.length !== dim);
      if (dim !== undefined && bad >= 0) throw badRequest(`rows.${bad}`, `has ${request.body.rows[bad]!.length} values; the model's rows have ${dim}`);
      const result = await infer({ modelId: model.id, op: "log-prob", input: request.body });
      return { logProb: (result.logProb as Array<number | null>).map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null)) };
    },
  );
};
