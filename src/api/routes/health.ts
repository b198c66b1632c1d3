/** /healthz (the process is up) and /readyz (PostgreSQL and Redis answer). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { pingDb } from "../../db/client.js";

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, redis } = app.services;
  const tags = ["health"];

  app.get("/healthz", { schema: { tags, response: { 200: z.object({ status: z.literal("ok") }) } } }, async () => ({ status: "ok" as const }));

  app.get(
    "/readyz",
    { schema: { tags, response: { 200: z.object({ status: z.string(), postgres: z.string(), redis: z.string() }), 503: z.object({ status: z.string(), postgres: z.string(), redis: z.string() }) } } },
    async (_request, reply) => {
      const [postgres, red] = await Promise.all([
        pingDb(db),
        Promise.race([redis.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), 2000))]).then(() => "ok", (e: Error) => `unreachable: ${e.message}`),
      ]);
      const ready = postgres === "ok" && red === "ok";
      return reply.status(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", postgres, redis: red });
    },
  );
};
