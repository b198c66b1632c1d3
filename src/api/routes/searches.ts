/** /v1/searches: submit, list, read, cancel searches, and list a search's trials. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { checkLimits, checkSearch } from "../../catalogue/index.js";
import { searchStatusSchema, TRIAL_STATUSES, trialStatusSchema } from "../../core/status.js";
import { cancelSearch, createSearch, getSearch, listSearches, searchDetail } from "../../db/searches.js";
import type { Scope } from "../../db/projects.js";
import { alphaSeries, listTrials } from "../../db/trials.js";
import { ApiError, badRequest, errorBodySchema, notFound } from "../errors.js";
import { alphaSeriesSchema, createSearchBody, identifier, pageQuery, searchDetailSchema, searchSchema, trialSchema, uuidParam } from "../schemas.js";
import { searchView, trialView } from "../views.js";

const tags = ["searches"];

export const searchRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, queues, spaces, config } = app.services;

  const detail = async (scope: Scope, id: string) => {
    const found = await searchDetail(db, scope, id);
    if (!found) throw notFound("search", id);
    const { search, counts, best, bestSoFar, supernet } = found;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const alphas = supernet ? (await alphaSeries(db, scope, id)).filter((a) => a.trialId === supernet.id).at(-1)?.alphas ?? null : null;
    return {
      ...searchView(search),
      trials: { total, ...counts },
      best: best ? { id: best.id, architecture: best.architecture, archHash: best.archHash, objective: best.objective, metrics: best.metrics } : null,
      bestSoFar,
      supernet: supernet ? { trialId: supernet.id, status: supernet.status, alphas, alphasUrl: `/v1/searches/${id}/alphas` } : null,
    };
  };

  app.post(
    "/v1/searches",
    { schema: { tags, summary: "Submit a search", body: createSearchBody, response: { 201: searchDetailSchema, 400: errorBodySchema, 413: errorBodySchema, 429: errorBodySchema } } },
    async (request, reply) => {
      const body = request.body;
      const space = spaces.get(body.space);
      if (!space) throw badRequest("space", `unknown search space '${body.space}'; available: ${spaces.ids().join(", ")}`);
      const checked = checkSearch(space, body as Parameters<typeof checkSearch>[1]);
      if ("problem" in checked) throw badRequest(checked.problem.field, checked.problem.message);
      const beyond = checkLimits(space, body as Parameters<typeof checkLimits>[1], config);
      if (beyond) throw badRequest(beyond.field, beyond.message);
      const search = await createSearch(db, request.principal, {
        name: body.name,
        space: space.id,
        task: checked.task,
        strategy: body.strategy as object,
        evaluator: body.evaluator as object,
        objectiveMetric: body.objective.metric,
        objectiveDirection: body.objective.direction,
        maxTrials: body.budget.maxTrials,
        maxParallel: body.budget.maxParallel,
        maxFailures: body.budget.maxFailures ?? body.budget.maxTrials,
        scheduler: body.scheduler,
        seed: body.seed,
      }, config.MAX_ACTIVE_SEARCHES_PER_PROJECT);
      if (!search) {
        const limit = config.MAX_ACTIVE_SEARCHES_PER_PROJECT;
        throw new ApiError(429, "quota_exceeded", `the project has ${limit} searches queued or running, its quota (MAX_ACTIVE_SEARCHES_PER_PROJECT = ${limit}): wait for one to end or cancel one`);
      }
      await queues.enqueueAdvance(search.id);
      reply.status(201).header("location", `/v1/searches/${search.id}`);
      // The search as stored: nothing has run yet, so its detail needs no further statements.
      const none = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<(typeof TRIAL_STATUSES)[number], number>;
      return { ...searchView(search), trials: { total: 0, ...none }, best: null, bestSoFar: [], supernet: null };
    },
  );

  app.get(
    "/v1/searches",
    {
      schema: {
        tags,
        summary: "List searches, newest first",
        querystring: pageQuery.extend({ status: searchStatusSchema.optional(), space: identifier().optional().describe("only searches of this search space") }),
        response: { 200: z.object({ items: z.array(searchSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const page = await listSearches(db, request.principal, request.query);
      return { items: page.items.map(searchView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/v1/searches/:id",
    { schema: { tags, summary: "A search: status, trial counts, best trial and best-so-far series", params: uuidParam, response: { 200: searchDetailSchema, 400: errorBodySchema, 404: errorBodySchema } } },
    async (request) => detail(request.principal, request.params.id),
  );

  app.get(
    "/v1/searches/:id/alphas",
    {
      schema: {
        tags,
        summary: "DARTS: the α series of the search's supernet job (softmax weight of every candidate at every decision, at regular steps)",
        params: uuidParam,
        response: { 200: alphaSeriesSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      if (!(await getSearch(db, request.principal, request.params.id))) throw notFound("search", request.params.id);
      return { items: await alphaSeries(db, request.principal, request.params.id) };
    },
  );

  app.post(
    "/v1/searches/:id/cancel",
    { schema: { tags, summary: "Cancel a search and its unfinished trials", params: uuidParam, response: { 200: searchDetailSchema, 404: errorBodySchema, 409: errorBodySchema } } },
    async (request) => {
      const result = await cancelSearch(db, request.principal, request.params.id);
      if (!result) throw notFound("search", request.params.id);
      if (!result.changed && result.search.status !== "cancelled") throw new ApiError(409, "conflict", `search is already ${result.search.status}`);
      return detail(request.principal, request.params.id);
    },
  );

  app.get(
    "/v1/searches/:id/trials",
    {
      schema: {
        tags,
        summary: "A search's trials: filter by status, sort by objective (best first), cursor pagination",
        params: uuidParam,
        querystring: pageQuery.extend({
          status: trialStatusSchema.optional(),
          sort: z.enum(["objective", "created", "finished"]).default("created"),
          order: z.enum(["best", "asc", "desc"]).default("best").describe("best: best objective first (or creation/completion order ascending)"),
        }),
        response: { 200: z.object({ items: z.array(trialSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const search = await getSearch(db, request.principal, request.params.id);
      if (!search) throw notFound("search", request.params.id);
      const { sort, order, ...rest } = request.query;
      const direction = order !== "best" ? order : sort === "objective" ? (search.objectiveDirection === "maximize" ? "desc" : "asc") : "asc";
      const page = await listTrials(db, request.principal, { ...rest, searchId: search.id, sort, direction });
      return { items: page.items.map(trialView), nextCursor: page.nextCursor };
    },
  );
};
