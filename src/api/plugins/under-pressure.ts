/**
 * Outages and overload (@fastify/under-pressure): the API pings PostgreSQL every DB_HEALTH_CHECK_MS; while the
 * ping fails, every request but the probes (/healthz, /readyz, /metrics) is answered at once with 503, Retry-After
 * and the service's error body, instead of waiting on a database that is not there (and /readyz says which service
 * is unreachable). A statement that fails between two pings is answered the same way by the error handler
 * (errors.ts). With API_MAX_EVENT_LOOP_DELAY_MS set, a process whose event loop lags more than that sheds load the
 * same way.
 */
import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config.js";
import { pingDb, type Db } from "../../db/client.js";
import { ApiError, UNAVAILABLE_RETRY_AFTER_S, unavailable } from "../errors.js";
import { isProbe } from "./probes.js";

/** A ping with no answer within this long counts as failed (a pool busy under load answers well within it). */
const PING_TIMEOUT_MS = 5000;

export async function registerUnderPressure(app: FastifyInstance, db: Db, config: Pick<Config, "DB_HEALTH_CHECK_MS" | "API_MAX_EVENT_LOOP_DELAY_MS">): Promise<void> {
  await app.register(underPressure, {
    healthCheck: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("timeout"), PING_TIMEOUT_MS)));
      const answer = await Promise.race([pingDb(db), timeout]);
      clearTimeout(timer);
      return answer === "ok";
    },
    healthCheckInterval: config.DB_HEALTH_CHECK_MS,
    maxEventLoopDelay: config.API_MAX_EVENT_LOOP_DELAY_MS,
    retryAfter: UNAVAILABLE_RETRY_AFTER_S,
    // Resolving lets the request through; rejecting answers it through the error handler (errors.ts).
    pressureHandler: async (request, reply, type) => {
      if (isProbe(request.url)) return;
      void reply.header("retry-after", UNAVAILABLE_RETRY_AFTER_S);
      if (type === "healthCheck") throw unavailable("PostgreSQL");
      throw new ApiError(503, "overloaded", `the API is overloaded (its event loop lags more than API_MAX_EVENT_LOOP_DELAY_MS = ${config.API_MAX_EVENT_LOOP_DELAY_MS} ms); retry in ${UNAVAILABLE_RETRY_AFTER_S} s`);
    },
  });
}
