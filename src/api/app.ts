/**
 * The fastify application: external plugins (OpenAPI from the zod schemas at /docs), the services the routes
 * use (injected, so tests build the app around real connections with `app.inject`), then one plugin per resource.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { registerAuth } from "./auth.js";
import { completeOpenapi } from "./openapi.js";
import { frameworkErrors, registerErrorHandling, registerInputGuards } from "./errors.js";
import { registerCors } from "./plugins/cors.js";
import { registerHelmet } from "./plugins/helmet.js";
import { registerMetrics } from "./plugins/metrics.js";
import { registerRateLimit } from "./plugins/rate-limit.js";
import { registerUnderPressure } from "./plugins/under-pressure.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { eventRoutes } from "./routes/events.js";
import { datasetRoutes } from "./routes/datasets.js";
import { healthRoutes } from "./routes/health.js";
import { leaderboardRoutes } from "./routes/leaderboard.js";
import { metricsRoutes } from "./routes/metrics.js";
import { modelRoutes } from "./routes/models.js";
import { exportRoutes } from "./routes/exports.js";
import { paretoRoutes } from "./routes/pareto.js";
import { searchSpaceRoutes } from "./routes/search-spaces.js";
import { searchRoutes } from "./routes/searches.js";
import { trialRoutes } from "./routes/trials.js";
import { workerRoutes } from "./routes/workers.js";
import type { Services } from "./services.js";

export type { Services };

export async function buildApp(services: Services, opts: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger === false ? false : { level: services.config.LOG_LEVEL },
    bodyLimit: services.config.API_BODY_LIMIT,
    // A request must arrive whole within API_REQUEST_TIMEOUT_MS (408, then the connection is closed), and a socket
    // silent that long is closed: half-sent bodies do not hold connections open. Node checks the request timeouts
    // every connectionsCheckingInterval, so that is a fraction of the timeout.
    requestTimeout: services.config.API_REQUEST_TIMEOUT_MS,
    connectionTimeout: services.config.API_REQUEST_TIMEOUT_MS,
    http: {
      requestTimeout: services.config.API_REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(services.config.API_REQUEST_TIMEOUT_MS, 60_000),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(services.config.API_REQUEST_TIMEOUT_MS / 4))),
    },
    frameworkErrors,
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate("services", services);
  // Bodies are JSON only: anything else is a 415, not a string that fails validation later.
  app.removeContentTypeParser("text/plain");
  registerErrorHandling(app);
  // External plugins (src/api/plugins/, each configured from config.ts). Their onRequest hooks run in this order:
  // security headers, CORS (answers preflights before authentication), 503 while PostgreSQL is down, then
  // authentication; the rate limit's is a route-level hook, so it runs after authentication and keys on the key.
  await registerHelmet(app, services.config);
  await registerCors(app, services.config);
  await registerUnderPressure(app, services.db, services.config);
  registerMetrics(app, services);
  registerAuth(app, services);
  await registerRateLimit(app, services.config);
  registerInputGuards(app);

  await app.register(swagger, {
    openapi: {
      info: { title: "NAS service", version: "0.1.0", description: "Neural architecture search as a service: submit searches, follow trials, read the leaderboard." },
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "an API key of a project (`npm run keys -- create`)" } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: completeOpenapi,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(dashboardRoutes);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(searchSpaceRoutes);
  await app.register(searchRoutes);
  await app.register(eventRoutes);
  await app.register(trialRoutes);
  await app.register(leaderboardRoutes);
  await app.register(modelRoutes);
  await app.register(datasetRoutes);
  await app.register(exportRoutes);
  await app.register(paretoRoutes);
  await app.register(workerRoutes);
  return app;
}
