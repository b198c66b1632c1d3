/** /v1/trials: one trial with its learning curve, and its artifacts (images, samples). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { getSearch } from "../../db/searches.js";
import { artifactNames, getArtifact, getTrialWithCurve } from "../../db/trials.js";
import { errorBodySchema, notFound } from "../errors.js";
import { identifier, trialDetailSchema, uuidParam } from "../schemas.js";
import { trialPlanOf, trialView } from "../views.js";

const tags = ["trials"];

export const trialRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, spaces } = app.services;

  app.get(
    "/v1/trials/:id",
    { schema: { tags, summary: "A trial with its learning curve and artifact links", params: uuidParam, response: { 200: trialDetailSchema, 400: errorBodySchema, 404: errorBodySchema } } },
    async (request) => {
      const trial = await getTrialWithCurve(db, request.principal, request.params.id);
      if (!trial) throw notFound("trial", request.params.id);
      const [names, search] = await Promise.all([artifactNames(db, request.principal, trial.id), getSearch(db, request.principal, trial.searchId)]);
      // Its step: the last point of its curve in its current attempt (the curve is here already).
      const step = trial.curve.filter((p) => p.attempt === trial.attempts).at(-1)?.step ?? null;
      return {
        ...trialView(trial, { step, plan: search ? trialPlanOf(search, spaces) : undefined }),
        curve: trial.curve.map((p) => ({ attempt: p.attempt, step: p.step, values: p.values as Record<string, number> })),
        artifacts: names.map((name) => ({ name, url: `/v1/trials/${trial.id}/artifacts/${encodeURIComponent(name)}` })),
      };
    },
  );

  app.get(
    "/v1/trials/:id/artifacts/:name",
    {
      schema: {
        tags,
        summary: "A file the trial produced (e.g. density.png)",
        params: uuidParam.extend({ name: identifier() }),
        response: { 200: z.any().describe("the file, with its content type"), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const artifact = await getArtifact(db, request.principal, request.params.id, request.params.name);
      if (!artifact) throw notFound("artifact", `${request.params.id}/${request.params.name}`);
      return reply.type(artifact.contentType).send(Buffer.from(artifact.data));
    },
  );
};
