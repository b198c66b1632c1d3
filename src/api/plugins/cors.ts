/**
 * CORS (@fastify/cors), off unless CORS_ORIGINS names the origins browsers may call the API from (`*`: any). Keys
 * travel in the Authorization header, never in cookies, so credentials are not allowed; the answer headers a
 * client needs (Location, Retry-After, the rate-limit headers) are exposed. Preflight requests are answered before
 * authentication (they carry no key).
 */
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config.js";

export async function registerCors(app: FastifyInstance, config: Pick<Config, "CORS_ORIGINS">): Promise<void> {
  const origins = config.CORS_ORIGINS;
  if (origins.length === 0) return;
  await app.register(cors, {
    origin: origins.includes("*") ? "*" : origins,
    methods: ["GET", "HEAD", "POST"],
    allowedHeaders: ["authorization", "content-type"],
    exposedHeaders: ["location", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"],
    credentials: false,
    maxAge: 600,
  });
}
