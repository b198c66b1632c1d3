/**
 * /v1/leaderboard: best distinct architectures across all searches of a space and task; /v1/leaderboard/boards:
 * every leaderboard the project has. Nothing is defaulted behind the client's back: a query that leaves the task
 * (or metric) out is answered only when the space has one, else it is a 400 naming the field and listing the
 * choices; a metric that no evaluator reports as an objective is a 400, never an empty board.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { metricDirection } from "../../catalogue/metric-directions.js";
import { leaderboard, leaderboardBoards, leaderboardChoices, type BoardRow } from "../../db/leaderboard.js";
import { ApiError, errorBodySchema } from "../errors.js";
import { identifier } from "../schemas.js";

const tags = ["leaderboard"];
const direction = z.enum(["minimize", "maximize"]);

const boardSchema = z
  .object({
    space: z.string(),
    task: z.string().describe("the evaluator's task key, e.g. cifar10, charlm-moby-dick@200steps"),
    metric: z.string().describe("the objective metric the board ranks by"),
    direction: direction.describe("the metric's direction (fixed per metric: catalogue/metric-directions.ts)"),
    entries: z.number().int().describe("distinct architectures on the board"),
  })
  .describe("Board");

const boardView = (b: BoardRow) => ({ space: b.space, task: b.task, metric: b.metric, direction: metricDirection(b.metric) ?? (b.maximize ? "maximize" : "minimize"), entries: b.entries });

const choices = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/** A 400 naming a field of the query string, as the API's own validation names one. */
const queryError = (field: string, message: string) => new ApiError(400, "validation_error", `${field}: ${message}`, [{ field, in: "querystring", message }]);

export const leaderboardRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.services;

  app.get(
    "/v1/leaderboard/boards",
    {
      schema: {
        tags,
        summary: "Every leaderboard of the project: each (space, task, metric) with entries, its direction and size",
        querystring: z.strictObject({ space: identifier().optional().describe("only the boards of this search space") }),
        response: { 200: z.object({ items: z.array(boardSchema) }), 400: errorBodySchema },
      },
    },
    async (request) => ({ items: (await leaderboardBoards(db, request.principal, { space: request.query.space })).map(boardView) }),
  );

  app.get(
    "/v1/leaderboard",
    {
      schema: {
        tags,
        summary: "Best trials across all searches of a space and task, one row per distinct architecture, ranked by objective",
        querystring: z.strictObject({
          space: identifier().describe("id of a search space"),
          task: identifier()
            .optional()
            .describe("evaluator task, e.g. cifar10 (default: the task of the space's searches when they have one; required when they have several: a 400 lists them, GET /v1/leaderboard/boards too)"),
          metric: identifier()
            .optional()
            .describe("objective metric (default: the primary objective of the task's searches when they have one; required when they have several); a metric no evaluator reports as an objective is a 400"),
          limit: z.coerce.number().int().min(1).max(1000).default(20).describe("rows, best first (default 20)"),
        }),
        response: {
          200: z.object({
            space: z.string(),
            task: z.string().nullable().describe("null when the space has no leaderboard yet"),
            metric: z.string().nullable(),
            direction: direction.nullable().describe("the metric's direction: rows are ranked best first by it"),
            rows: z.array(z.object({ rank: z.number().int(), archHash: z.string(), objective: z.number(), trialId: z.string(), searchId: z.string(), architecture: z.unknown(), metrics: z.unknown() })),
          }),
          400: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { space, limit } = request.query;
      let { task = null, metric = null } = request.query;
      // What a query leaves out is read from the project's searches of the space (cheap, whatever the boards hold):
      // one choice is taken, several are a 400 listing them.
      if (!task) {
        const tasks = await leaderboardChoices(db, request.principal, { space });
        if (tasks.length > 1) throw queryError("task", `space '${space}' has searches of several tasks: ${choices(tasks)}; name one (GET /v1/leaderboard/boards lists every board)`);
        task = tasks[0] ?? null;
      }
      if (!metric && task) {
        const metrics = await leaderboardChoices(db, request.principal, { space, task });
        if (metrics.length > 1) throw queryError("metric", `task '${task}' of space '${space}' has searches of several objective metrics: ${choices(metrics)}; name one`);
        metric = metrics[0] ?? null;
      }
      // A metric without a direction in the catalogue is an objective only if a board of this task ranks by it.
      let board: BoardRow | undefined;
      if (metric !== null && metricDirection(metric) === undefined) {
        const boards = await leaderboardBoards(db, request.principal, { space });
        board = boards.find((b) => b.task === task && b.metric === metric);
        if (!board) {
          const here = boards.filter((b) => b.task === task).map((b) => b.metric);
          throw queryError("metric", `'${metric}' is not an objective metric${here.length ? ` (the leaderboards of ${space} / ${task} rank by ${choices(here)})` : ""}`);
        }
      }
      const rows = task && metric ? await leaderboard(db, request.principal, { space, task, metric, limit }) : [];
      const dir = metric ? (metricDirection(metric) ?? (board ? boardView(board).direction : null)) : null;
      return { space, task, metric, direction: dir, rows };
    },
  );
};
