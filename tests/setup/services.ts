/** Real connections for in-process integration tests: this run's PostgreSQL database and Redis prefix. */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { createDb } from "../../src/db/client.js";
import { createKey, ensureProject, type Role } from "../../src/db/projects.js";
import { startApi, type ApiHandle } from "../../src/processes.js";
import { Queues, createRedis } from "../../src/queue/queues.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { testConfig } from "./env.js";

/** An app whose requests carry an API key (each request may still set its own `authorization`). */
export interface Client {
  inject(opts: InjectOptions | string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export function withKey(app: FastifyInstance, key: string | null): Client {
  return {
    inject: (opts) => {
      const o = typeof opts === "string" ? { url: opts } : opts;
      return app.inject({ ...o, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...o.headers } });
    },
    close: () => app.close(),
  };
}

export async function openServices(overrides: Record<string, string> = {}) {
  const config = testConfig(overrides);
  const db = createDb(config.DATABASE_URL, 4);
  const redis = createRedis(config.REDIS_URL);
  const queues = new Queues(redis, config);
  const spaces = SpaceRegistry.fromDirectory(config.SEARCH_SPACES_DIR);
  const apis: ApiHandle[] = [];
  return {
    config,
    db,
    redis,
    queues,
    spaces,
    /** The API as `startApi` builds it, for `app.inject` (no port is opened). */
    async app() {
      const api = await startApi(config, { listen: false, logger: false });
      apis.push(api);
      return api.app;
    },
    /** A new key of the project `project` (made if missing). */
    async key(project: string, role: Role = "admin"): Promise<{ key: string; projectId: string }> {
      const p = await ensureProject(db, project);
      return { key: (await createKey(db, p.id, role)).key, projectId: p.id };
    },
    async close() {
      await Promise.all(apis.map((a) => a.close()));
      await queues.close();
      redis.disconnect();
      await db.$disconnect();
    },
  };
}

export const NB201_SEARCH = {
  name: "nb201-random",
  space: "nasbench201",
  strategy: { type: "random" },
  evaluator: { type: "benchmark", dataset: "cifar10" },
  objective: { metric: "test_accuracy", direction: "maximize" },
  budget: { maxTrials: 200, maxParallel: 8 },
  seed: 1,
};
