/** /v1/leaderboard: best distinct architectures across all searches of a space and task. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { leaderboard } from "../../db/leaderboard.js";
import { newestSearchOf } from "../../db/searches.js";
import { errorBodySchema } from "../errors.js";
import { identifier } from "../schemas.js";

export const leaderboardRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.services;

  app.get(
    "/v1/leaderboard",
    {
      schema: {
        tags: ["leaderboard"],
        summary: "Best trials across all searches of a space and task, one row per distinct architecture, ranked by objective",
        querystring: z.strictObject({
          space: identifier().describe("id of a search space"),
          task: identifier().optional().describe("evaluator task, e.g. cifar10 (default: the task of the space's newest search)"),
          metric: identifier().optional().describe("objective metric (default: the objective of the newest search of this space and task)"),
          limit: z.coerce.number().int().min(1).max(1000).default(20),
        }),
        response: {
          200: z.object({
            space: z.string(),
            task: z.string().nullable(),
            metric: z.string().nullable(),
            rows: z.array(z.object({ rank: z.number().int(), archHash: z.string(), objective: z.number(), trialId: z.string(), searchId: z.string(), architecture: z.unknown(), metrics: z.unknown() })),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { space, limit } = request.query;
      let { task = null, metric = null } = request.query;
      if (!task || !metric) {
        // Defaults come from the newest search of the space (and task): one index lookup.
        const newest = await newestSearchOf(db, request.principal, space, task ?? undefined);
        task ??= newest?.task ?? null;
        metric ??= newest?.objectiveMetric ?? null;
      }
      const rows = task && metric ? await leaderboard(db, request.principal, { space, task, metric, limit }) : [];
      return { space, task, metric, rows };
    },
  );
};
