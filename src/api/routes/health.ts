/**
 * /healthz (the process is up) and /readyz (PostgreSQL and Redis answer; 503 naming the one that does not). Both are
 * probes (plugins/probes.ts): never rate-limited, answered during outages.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { pingDb } from "../../db/client.js";

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, redis } = app.services;
  const tags = ["health"];

  app.get("/healthz", { schema: { tags, summary: "Liveness: the process answers (no key needed)", response: { 200: z.object({ status: z.literal("ok") }) } } }, async () => ({ status: "ok" as const }));

  app.get(
    "/readyz",
    { schema: { tags, summary: "Readiness: PostgreSQL and Redis answer (503 naming the one that does not; no key needed)", response: { 200: z.object({ status: z.string(), postgres: z.string(), redis: z.string() }), 503: z.object({ status: z.string(), postgres: z.string(), redis: z.string() }) } } },
    async (_request, reply) => {
      // Each answers within 2 s: a service that does not is named unreachable, not waited for.
      const within = <T>(p: Promise<T>) => {
        let timer: NodeJS.Timeout | undefined;
        return Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error("no answer within 2 s")), 2000)))]).finally(() => clearTimeout(timer));
      };
      const [postgres, red] = await Promise.all([
        within(pingDb(db)).catch((e: Error) => `unreachable: ${e.message}`),
        within(redis.ping()).then(() => "ok", (e: Error) => `unreachable: ${e.message}`),
      ]);
      const ready = postgres === "ok" && red === "ok";
      return reply.status(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", postgres, redis: red });
    },
  );
};
