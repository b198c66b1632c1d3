/**
 * Global setup of the test run: a database of its own (created, migrated, dropped at the end) and a Redis key
 * prefix of its own (its keys deleted at the end), so runs never see each other's data.
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/config.js";
import { dropDatabase, migrate } from "../../src/db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    queuePrefix: string;
  }
}

export default async function setup(project: TestProject) {
  const config = loadConfig();
  const suffix = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const url = new URL(config.DATABASE_URL);
  url.pathname = `/nas_test_${suffix}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl);
  const queuePrefix = `nas_test_${suffix}`;
  project.provide("databaseUrl", databaseUrl);
  project.provide("redisUrl", config.REDIS_URL);
  project.provide("queuePrefix", queuePrefix);

  return async () => {
    await dropDatabase(databaseUrl);
    const redis = new Redis(config.REDIS_URL);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${queuePrefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
  };
}
