/**
 * GET /metrics: the Prometheus text exposition of plugins/metrics.ts. Open when METRICS_TOKEN is unset (it holds
 * service-wide counts only); otherwise it needs `Authorization: Bearer <METRICS_TOKEN>` (Prometheus:
 * `authorization: {credentials: …}`). Not rate-limited, answered during outages, not in the OpenAPI document.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import { ApiError } from "../errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const token = app.services.config.METRICS_TOKEN;
  const expected = token ? digest(token) : undefined;

  app.get("/metrics", { schema: { hide: true } }, async (request, reply) => {
    if (expected) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
      if (!match || !timingSafeEqual(digest(match[1]!), expected)) throw new ApiError(401, "unauthorized", "GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`");
    }
    return reply.header("content-type", app.metrics.contentType).send(await app.metrics.render());
  });
};
