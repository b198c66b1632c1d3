/**
 * Shared helpers of integration and end-to-end tests: the run's settings, real connections, and child processes
 * of the service (API, orchestrator, trainers) started the way an operator starts them (scripts/services.ts).
 */
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { Started } from "../../scripts/services.js";
import { loadConfig, type Config } from "../../src/config.js";

/** The service's processes as children, exactly as the demo and the benchmarks start them. */
export { startWorker, stopWorkers, type Started } from "../../scripts/services.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Settings of this test run (its own database and Redis prefix), plus overrides. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject("databaseUrl"),
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: inject("queuePrefix"),
    LOG_LEVEL: "warn",
    ...overrides,
  };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...testEnv(overrides) });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the API answers /healthz. */
export async function waitForApi(base: string, proc: Started, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `the API at ${base} (output: ${proc.output().slice(-500)})`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`api exited: ${proc.output()}`);
      return fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    },
    timeoutMs,
  );
}

/** A database of its own for one test file (created and migrated now; drop it with the returned function). */
export async function freshDatabase(suffix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { migrate, dropDatabase } = await import("../../src/db/migrate.js");
  const url = new URL(inject("databaseUrl"));
  url.pathname = `${url.pathname}_${suffix}`;
  await migrate(url.toString());
  return { url: url.toString(), drop: () => dropDatabase(url.toString()) };
}
