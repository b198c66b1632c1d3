/**
 * Rate limit (@fastify/rate-limit): RATE_LIMIT_PER_MINUTE requests per API key per minute (a fixed one-minute
 * window), counted in Redis so the limit holds across every API process of a deployment; a request without a key
 * (AUTH=off, /docs) counts against its client IP. Past the limit: 429 with Retry-After and the service's error
 * body. The probes (/healthz, /readyz, /metrics) are exempt. 0 turns it off.
 *
 * The limiter's hook is a route-level onRequest hook, so it runs after authentication's (an app-level onRequest
 * hook, auth.ts) and can key on `request.principal.keyId`. A request whose key is unknown is answered 401 by
 * authentication before it is counted.
 *
 * The counters live on a connection of their own that fails fast (no offline queue, 1 s command timeout): while
 * Redis is unreachable requests are let through uncounted rather than held waiting for it.
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import type { Config } from "../../config.js";
import { ApiError } from "../errors.js";
import { isProbe } from "./probes.js";

export function rateLimitKey(request: FastifyRequest): string {
  const keyId = request.principal?.keyId;
  return keyId ? `key:${keyId}` : `ip:${request.ip}`;
}

export async function registerRateLimit(app: FastifyInstance, config: Pick<Config, "RATE_LIMIT_PER_MINUTE" | "REDIS_URL" | "QUEUE_PREFIX">): Promise<void> {
  const max = config.RATE_LIMIT_PER_MINUTE;
  if (max === 0) return;
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: 1000, connectTimeout: 2000, lazyConnect: true });
  // Its outages are the API's main connection's to log (processes.ts); here a failed count lets the request through.
  redis.on("error", () => {});
  app.addHook("onClose", async () => redis.disconnect());
  // Connected before the first request (it has no offline queue); a Redis that is not there yet is reconnected to.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([redis.connect().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
  clearTimeout(timer);
  await app.register(rateLimit, {
    global: true,
    max,
    timeWindow: 60_000,
    redis,
    nameSpace: `${config.QUEUE_PREFIX}:rate-limit:`,
    skipOnError: true,
    keyGenerator: rateLimitKey,
    allowList: (request) => isProbe(request.url),
    errorResponseBuilder: (request, context) => {
      const who = request.principal?.keyId ? "this API key" : "this address";
      return new ApiError(429, "rate_limited", `more than ${context.max} requests in a minute from ${who} (RATE_LIMIT_PER_MINUTE = ${context.max}); retry in ${context.after}`);
    },
  });
}
