/**
 * The service's processes as an operator meets them: a bad setting or an unreachable dependency stops a process
 * at start with one line saying what is wrong, and SIGTERM lets a trainer finish the trial in hand.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createDb } from "../../src/db/client.js";
import { DEFAULT_PROJECT_ID } from "../../src/db/projects.js";
import { createSearch } from "../../src/db/searches.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { Queues, createRedis } from "../../src/queue/queues.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { freePort, ROOT, startWorker, stopWorkers, testConfig, testEnv, waitFor } from "../setup/env.js";

async function exitLine(name: "api" | "orchestrator" | "trainer", env: Record<string, string>) {
  const p = startWorker(name, testEnv(env));
  const code = await p.exited;
  return { code, lines: p.output().trim().split("\n") };
}

describe("start-up failures", () => {
  it("an invalid setting: exit 1 with one line naming it", async () => {
    const { code, lines } = await exitLine("api", { PORT: "eighty" });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^api: invalid setting PORT: /);
  });

  it("Redis unreachable: exit 1 with one line", async () => {
    const { code, lines } = await exitLine("trainer", { REDIS_URL: "redis://127.0.0.1:1" });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^trainer: Redis unreachable at redis:\/\/127.0.0.1:1/)]);
  });

  it("PostgreSQL unreachable or not migrated: exit 1 with one line", async () => {
    const down = await exitLine("orchestrator", { DATABASE_URL: "postgresql://root@127.0.0.1:1/nas" });
    expect(down.code).toBe(1);
    expect(down.lines).toEqual([expect.stringMatching(/^orchestrator: PostgreSQL unreachable at postgresql:\/\/root@127.0.0.1:1\/nas: /)]);
    const empty = await exitLine("orchestrator", { DATABASE_URL: "postgresql://root@127.0.0.1:5432/postgres" });
    expect(empty.code).toBe(1);
    expect(empty.lines).toEqual(["orchestrator: PostgreSQL schema missing: run `npm run db:migrate`"]);
  });

  it("a BLAS named by NATIVE_BLAS_LIBRARY that cannot be used: the trainer exits 1 saying why", async () => {
    const { code, lines } = await exitLine("trainer", { TFJS_BACKEND: "wasm", NATIVE_BLAS_LIBRARY: "libdoes-not-exist.so" });
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/^trainer: NATIVE_BLAS_LIBRARY=libdoes-not-exist.so cannot be used: /);
  });
});

describe("what each process loads", () => {
  /** The modules a process resolved until it was ready (tests/setup/record-imports.mjs records them). */
  async function modulesOf(name: "api" | "orchestrator"): Promise<string[]> {
    const dir = mkdtempSync(path.join(tmpdir(), "imports-"));
    const file = path.join(dir, "imports.txt");
    const port = await freePort();
    const hook = `--import ${path.join(ROOT, "tests/setup/record-imports.mjs")}`;
    const p = startWorker(name, testEnv({ PORT: String(port), LOG_LEVEL: "info", RECORD_IMPORTS: file, NODE_OPTIONS: hook }));
    const ready = async () =>
      name === "api" ? fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false) : p.output().includes("orchestrator ready");
    try {
      await waitFor(`${name} to be ready`, async () => {
        if (p.child.exitCode !== null) throw new Error(`${name} exited: ${p.output()}`);
        return ready();
      }, 60_000, 100);
      return readFileSync(file, "utf8").split("\n").filter(Boolean);
    } finally {
      await stopWorkers([p]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const heavy = (urls: string[]) => urls.filter((u) => /\/@tensorflow\/|\.node$|native\/blas/.test(u));

  it("the API loads no tfjs and no native addon; an orchestrator (REINFORCE's controller) does load tfjs", async () => {
    const api = await modulesOf("api");
    expect(api.some((u) => u.includes("/src/catalogue/"))).toBe(true);
    expect(heavy(api)).toEqual([]);
    const orchestrator = await modulesOf("orchestrator");
    expect(heavy(orchestrator).some((u) => u.includes("/@tensorflow/tfjs-core/"))).toBe(true);
  });
});

describe("SIGTERM", () => {
  const config = testConfig({ QUEUE_PREFIX: `${inject("queuePrefix")}_term` });
  const db = createDb(config.DATABASE_URL, 2);
  const redis = createRedis(config.REDIS_URL);
  const queues = new Queues(redis, config);
  beforeAll(() => {});
  afterAll(async () => {
    await queues.close();
    redis.disconnect();
    await db.$disconnect();
  });

  it("a trainer finishes the trial in hand, takes no new one, and exits 0", async () => {
    const spaces = SpaceRegistry.fromDirectory(config.SEARCH_SPACES_DIR);
    const search = await createSearch(db, { projectId: DEFAULT_PROJECT_ID }, {
      name: "drain", space: "nasbench201", task: "cifar10", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 3000 },
      objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 10, maxParallel: 3, maxFailures: 10, seed: 1,
    });
    const { created } = await advanceSearch(db, spaces, search.id);
    await queues.enqueueTrials(created);
    const trainer = startWorker("trainer", testEnv({ QUEUE_PREFIX: config.QUEUE_PREFIX, TRAINER_CONCURRENCY: "1" }));
    const running = await waitFor("a running trial", () => db.trial.findFirst({ where: { searchId: search.id, status: "running" } }), 60_000, 100);
    trainer.child.kill("SIGTERM");
    expect(await trainer.exited).toBe(0);
    const after = await db.trial.findMany({ where: { searchId: search.id } });
    expect(after.find((t) => t.id === running.id)?.status).toBe("completed");
    expect(after.filter((t) => t.status === "completed")).toHaveLength(1);
    expect(after.filter((t) => t.status === "queued")).toHaveLength(2);
  });

  it("a SIGTERM while a trainer is still starting closes it once it is up, with exit 0", async () => {
    const trainer = startWorker("trainer", testEnv({ QUEUE_PREFIX: `${config.QUEUE_PREFIX}_early`, TRAINER_CONCURRENCY: "1" }));
    // The backend is chosen in the middle of the start: its queues' workers are not made yet.
    await waitFor("the trainer's backend chosen", () => /tfjs backend: (?!skipped)/.test(trainer.output()), 60_000, 10);
    trainer.child.kill("SIGTERM");
    expect(await trainer.exited, trainer.output()).toBe(0);
  });
});
