/** What the routes and plugins of the API use, injected by `buildApp` (tests build the app around real connections). */
import type { Redis } from "ioredis";
import type { SpaceRegistry } from "../catalogue/index.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Queues } from "../queue/queues.js";

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
