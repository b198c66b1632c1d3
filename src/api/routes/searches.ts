/** /v1/searches: submit, list, read, cancel searches, and list a search's trials. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { checkLimits, checkSearch, objectiveList, withCanonicalSeeds } from "../../catalogue/index.js";
import { trainingDecisionProblem } from "../../catalogue/user-spaces.js";
import { searchStatusSchema, TRIAL_STATUSES, trialStatusSchema } from "../../core/status.js";
import { searchPageWithProgress } from "../../db/search-progress.js";
import { cancelSearch, createSearch, getSearch, searchDetail } from "../../db/searches.js";
import type { Scope } from "../../db/projects.js";
import { alphaSeries, listTrials } from "../../db/trials.js";
import { ApiError, badRequest, errorBodySchema, notFound } from "../errors.js";
import { alphaSeriesSchema, createSearchBody, identifier, pageQuery, searchDetailSchema, searchSchema, trialSchema, uuidParam } from "../schemas.js";
import { progressView, searchListItem, searchView, trialPlanOf, trialsJson } from "../views.js";
import { paretoDetail } from "./pareto.js";
import { resolveSearchSpace } from "./search-spaces.js";
import { searchDatasetTask } from "./datasets.js";

const tags = ["searches"];

export const searchRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, queues, spaces, config } = app.services;

  const detail = async (scope: Scope, id: string) => {
    const found = await searchDetail(db, scope, id);
    if (!found) throw notFound("search", id);
    const { search, counts, best, bestSoFar, supernet, backends } = found;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const alphas = supernet ? (await alphaSeries(db, scope, id)).filter((a) => a.trialId === supernet.id).at(-1)?.alphas ?? null : null;
    return {
      ...searchView(search),
      ...progressView(search, { counts, best: null, backends }),
      trials: { total, ...counts },
      best: best ? { trialId: best.id, id: best.id, architecture: best.architecture, archHash: best.archHash, objective: best.objective, metrics: best.metrics } : null,
      bestSoFar,
      pareto: await paretoDetail(db, scope, search),
      supernet: supernet ? { trialId: supernet.id, status: supernet.status, alphas, alphasUrl: `/v1/searches/${id}/alphas` } : null,
    };
  };

  app.post(
    "/v1/searches",
    { schema: { tags, summary: "Submit a search", body: createSearchBody, response: { 201: searchDetailSchema, 400: errorBodySchema, 413: errorBodySchema, 429: errorBodySchema } } },
    async (request, reply) => {
      let body = request.body;
      // A built-in space or one of the project's own (`name` or `name@version`), snapshotted with the search.
      const resolved = await resolveSearchSpace(db, request.principal, spaces, body.space);
      if ("problem" in resolved) throw badRequest("space", resolved.problem);
      const space = resolved.space;
      // Seed architectures in any form the README accepts (a NAS-Bench-201 string too), stored canonical; an invalid
      // one is a 400 naming its decision, never skipped by the strategy.
      const seeded = withCanonicalSeeds(space, body.strategy as { type: string } & Record<string, unknown>);
      if ("problem" in seeded) throw badRequest(seeded.problem.field, seeded.problem.message);
      body = { ...body, strategy: seeded.strategy as typeof body.strategy };
      const checked = checkSearch(space, body as Parameters<typeof checkSearch>[1]);
      if ("problem" in checked) throw badRequest(checked.problem.field, checked.problem.message);
      // On an uploaded dataset: it must be the project's and fit the space; the leaderboard task is the dataset's.
      const task = (await searchDatasetTask(db, request.principal, space, body as Parameters<typeof searchDatasetTask>[3])) ?? checked.task;
      const training = trainingDecisionProblem(space, body as Parameters<typeof trainingDecisionProblem>[1]);
      if (training) throw badRequest(training.field, training.message);
      const beyond = checkLimits(space, body as Parameters<typeof checkLimits>[1], config);
      if (beyond) throw badRequest(beyond.field, beyond.message);
      const search = await createSearch(db, request.principal, {
        name: body.name,
        space: space.id,
        task,
        strategy: body.strategy as object,
        evaluator: body.evaluator as object,
        // The primary objective in its columns; a list, constraints and a reference point as given (multi-objective).
        objectiveMetric: objectiveList(body.objective)[0]!.metric,
        objectiveDirection: objectiveList(body.objective)[0]!.direction,
        ...(Array.isArray(body.objective) ? { objectiveList: body.objective } : {}),
        ...(body.constraints?.length ? { constraints: body.constraints } : {}),
        ...(body.referencePoint ? { referencePoint: body.referencePoint } : {}),
        maxTrials: body.budget.maxTrials,
        maxParallel: body.budget.maxParallel,
        maxFailures: body.budget.maxFailures ?? body.budget.maxTrials,
        scheduler: body.scheduler,
        seed: body.seed,
        spaceVersion: resolved.version,
        spaceDefinition: resolved.definition as object,
      }, config.MAX_ACTIVE_SEARCHES_PER_PROJECT);
      if (!search) {
        const limit = config.MAX_ACTIVE_SEARCHES_PER_PROJECT;
        throw new ApiError(429, "quota_exceeded", `the project has ${limit} searches queued or running, its quota (MAX_ACTIVE_SEARCHES_PER_PROJECT = ${limit}): wait for one to end or cancel one`);
      }
      await queues.enqueueAdvance(search.id);
      reply.status(201).header("location", `/v1/searches/${search.id}`);
      // The search as stored: nothing has run yet, so its detail needs no further statements.
      const none = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as Record<(typeof TRIAL_STATUSES)[number], number>;
      const pareto = objectiveList(body.objective).length > 1 ? { size: 0, hypervolume: null, referencePoint: body.referencePoint ?? null, url: `/v1/searches/${search.id}/pareto` } : null;
      return { ...searchView(search), ...progressView(search, { counts: none, best: null, backends: {} }), trials: { total: 0, ...none }, best: null, bestSoFar: [], pareto, supernet: null };
    },
  );

  app.get(
    "/v1/searches",
    {
      schema: {
        tags,
        summary: "List searches, newest first, each with its progress (trials by status against its budget) and best trial",
        querystring: pageQuery.extend({ status: searchStatusSchema.optional(), space: identifier().optional().describe("only searches of this search space") }),
        response: { 200: z.object({ items: z.array(searchSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      // One statement for the page, its trial counts and best trials included (no statement per search).
      const page = await searchPageWithProgress(db, request.principal, request.query);
      return { items: page.items.map((i) => searchListItem(i.search, i.progress)), nextCursor: page.nextCursor };
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
      // A search that already ended (completed, failed, or cancelled before) is not cancelled again (README, "Cancel").
      if (!result.changed) throw new ApiError(409, "conflict", `search ${result.search.id} already ended: it is ${result.search.status}`);
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
      return { items: await trialsJson(db, request.principal, trialPlanOf(search, spaces), page.items), nextCursor: page.nextCursor };
    },
  );
};
