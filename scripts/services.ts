/**
 * Helpers for everything that runs the whole service on one machine (the demo, the benchmarks, the end-to-end
 * tests): make sure PostgreSQL and Redis answer, start the service's processes as an operator does
 * (`workers/<name>.ts`, over the factories of src/processes.ts), and stop what was started.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { checkRedis } from "../src/queue/queues.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function postgresUp(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const redisUp = (url: string) => checkRedis(url, 2000).then(() => true, () => false);

/**
 * Ensures PostgreSQL and Redis answer. Where one does not and a Docker engine is available, starts both with
 * `docker compose up -d postgres redis`; otherwise exits with one line saying what to start.
 */
export async function ensureBackingServices(databaseUrl: string, redisUrl: string): Promise<void> {
  let pgOk = await postgresUp(databaseUrl);
  let redisOk = await redisUp(redisUrl);
  if (pgOk && redisOk) return;
  const dockerEngine = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
  const missing = [!pgOk && `PostgreSQL (${databaseUrl})`, !redisOk && `Redis (${redisUrl})`].filter(Boolean).join(" and ");
  if (!dockerEngine) {
    console.error(`${missing} not reachable and no Docker engine to start them: start them (e.g. \`docker compose up -d postgres redis\`, or your system's postgresql and redis-server) and run again`);
    process.exit(1);
  }
  console.log(`${missing} not reachable: starting them with docker compose up -d postgres redis`);
  const up = spawnSync("docker", ["compose", "up", "-d", "postgres", "redis"], { cwd: ROOT, stdio: "inherit" });
  if (up.status !== 0) {
    console.error("docker compose up -d postgres redis failed");
    process.exit(1);
  }
  for (let i = 0; i < 60 && !(pgOk && redisOk); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    pgOk ||= await postgresUp(databaseUrl);
    redisOk ||= await redisUp(redisUrl);
  }
  if (!(pgOk && redisOk)) {
    console.error(`${missing} still not reachable 60 s after docker compose up`);
    process.exit(1);
  }
}

export interface Started {
  name: "api" | "orchestrator" | "trainer";
  child: ChildProcess;
  /** Its last 50 lines of output. */
  log: string[];
  /** Everything it printed so far. */
  output(): string;
  /** Resolves with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts workers/<name>.ts as its own Node process (what `npm run start:<name>` runs), keeping its output. */
export function startWorker(name: Started["name"], env: Record<string, string>): Started {
  // Trainers run with V8's garbage collector on their own thread, as `npm run start:trainer` does (workers/trainer.ts).
  const v8Flags = name === "trainer" ? ["--single-threaded-gc"] : [];
  const child = spawn(process.execPath, [...v8Flags, "--import", "tsx", path.join(ROOT, "workers", `${name}.ts`)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  let out = "";
  const keep = (d: Buffer) => {
    out += d;
    log.push(...d.toString().split("\n").filter(Boolean));
    if (log.length > 50) log.splice(0, log.length - 50);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { name, child, log, output: () => out, exited };
}

export async function stopWorkers(started: Started[], graceMs = 20_000): Promise<void> {
  await Promise.all(
    started.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => s.child.kill("SIGKILL"), graceMs);
          s.child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          s.child.kill("SIGTERM");
        }),
    ),
  );
}

export async function waitForHttp(url: string, started: Started[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    const dead = started.find((s) => s.child.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited: ${dead.log.slice(-5).join(" | ")}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
