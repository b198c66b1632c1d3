/** /v1/search-spaces: the declared search spaces. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorBodySchema, notFound } from "../errors.js";
import { identifier } from "../schemas.js";

const summary = z.object({ id: z.string(), version: z.number().int(), family: z.string(), description: z.string(), decisions: z.number().int(), size: z.number().describe("number of architectures before constraints") });

export const searchSpaceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { spaces } = app.services;
  const tags = ["search-spaces"];

  app.get("/v1/search-spaces", { schema: { tags, summary: "List search spaces", response: { 200: z.object({ items: z.array(summary) }) } } }, async () => ({
    items: spaces.all().map((s) => ({ id: s.id, version: s.version, family: s.family, description: s.definition.description, decisions: s.definition.decisions.length, size: s.size() })),
  }));

  app.get(
    "/v1/search-spaces/:id",
    { schema: { tags, summary: "A search space's full definition", params: z.object({ id: identifier() }), response: { 200: z.unknown(), 404: errorBodySchema } } },
    async (request) => {
      const space = spaces.get(request.params.id);
      if (!space) throw notFound("search space", request.params.id);
      return { ...space.definition, size: space.size() };
    },
  );
};
