/**
 * Start-up of every process: load the settings, check PostgreSQL and Redis, and on any problem print one line
 * saying what is wrong and exit non-zero. Also wires SIGTERM/SIGINT to a graceful shutdown.
 */
import { hostname } from "node:os";
import { loadConfig, type Config } from "../src/config.js";
import { checkDb, createDb, type Db } from "../src/db/client.js";
import { createLogger, type Logger } from "../src/logger.js";
import { checkRedis } from "../src/queue/queues.js";
import { SpaceRegistry } from "../src/spaces/registry.js";

export interface Runtime {
  config: Config;
  db: Db;
  spaces: SpaceRegistry;
  log: Logger;
  workerName: string;
}

export async function startProcess(name: string): Promise<Runtime> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    die(name, (err as Error).message);
  }
  const log = createLogger(name, config.LOG_LEVEL);
  let spaces: SpaceRegistry;
  try {
    spaces = SpaceRegistry.fromDirectory(config.SEARCH_SPACES_DIR);
  } catch (err) {
    die(name, `cannot load search spaces from ${config.SEARCH_SPACES_DIR}: ${(err as Error).message}`);
  }
  try {
    await checkDb(config.DATABASE_URL);
    await checkRedis(config.REDIS_URL);
  } catch (err) {
    die(name, (err as Error).message);
  }
  const db = createDb(config.DATABASE_URL);
  return { config, db, spaces, log, workerName: config.WORKER_NAME ?? `${hostname()}:${process.pid}` };
}

export function die(name: string, reason: string): never {
  process.stderr.write(`${name}: ${reason}\n`);
  process.exit(1);
}

/** Calls `stop` once on SIGTERM or SIGINT; a second signal exits at once. */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, "shutting down: draining");
    stop()
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
