/**
 * The fastify application: external plugins (OpenAPI from the zod schemas at /docs), the services the routes
 * use (injected, so tests build the app around real connections with `app.inject`), then one plugin per resource.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { SpaceRegistry } from "../catalogue/index.js";
import type { Queues } from "../queue/queues.js";
import { registerAuth } from "./auth.js";
import { registerErrorHandling } from "./errors.js";
import { healthRoutes } from "./routes/health.js";
import { leaderboardRoutes } from "./routes/leaderboard.js";
import { searchSpaceRoutes } from "./routes/search-spaces.js";
import { searchRoutes } from "./routes/searches.js";
import { trialRoutes } from "./routes/trials.js";

export interface Services {
  db: Db;
  queues: Queues;
  redis: Redis;
  spaces: SpaceRegistry;
  config: Config;
}

declare module "fastify" {
  interface FastifyInstance {
    services: Services;
  }
}

export async function buildApp(services: Services, opts: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger === false ? false : { level: services.config.LOG_LEVEL },
    bodyLimit: services.config.API_BODY_LIMIT,
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate("services", services);
  // Bodies are JSON only: anything else is a 415, not a string that fails validation later.
  app.removeContentTypeParser("text/plain");
  registerErrorHandling(app);
  registerAuth(app, services);

  await app.register(swagger, {
    openapi: {
      info: { title: "NAS service", version: "0.1.0", description: "Neural architecture search as a service: submit searches, follow trials, read the leaderboard." },
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "an API key of a project (`npm run keys -- create`)" } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(healthRoutes);
  await app.register(searchSpaceRoutes);
  await app.register(searchRoutes);
  await app.register(trialRoutes);
  await app.register(leaderboardRoutes);
  return app;
}
