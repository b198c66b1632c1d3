/**
 * Orchestrator and trainer logic in-process, with real BullMQ workers on the real Redis and PostgreSQL of this
 * test run: searches run to completion, completion is idempotent, failures are counted, lost jobs come back.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { DEFAULT_PROJECT_ID } from "../../src/db/projects.js";
import { createSearch } from "../../src/db/searches.js";
import { completeTrial } from "../../src/db/trials.js";
import { migrate } from "../../src/db/migrate.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { reconcile } from "../../src/orchestrator/reconcile.js";
import { startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { ROOT, waitFor } from "../setup/env.js";
import { openServices } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
const processes: ProcessHandle[] = [];

/** Runs an orchestrator and a trainer inside this process, with the factories the worker entry points use. */
async function startWorkers(s: typeof services) {
  const config = { ...s.config, ORCHESTRATOR_CONCURRENCY: 2, TRAINER_CONCURRENCY: 4, WORKER_NAME: "test", LOG_LEVEL: "silent" as const };
  processes.push(await startOrchestrator(config), await startTrainer(config));
}

const search = (overrides: Partial<Parameters<typeof createSearch>[2]> = {}) =>
  createSearch(services.db, { projectId: DEFAULT_PROJECT_ID }, {
    name: "t", space: "nasbench201", task: "cifar10", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
    objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 20, maxParallel: 4, maxFailures: 20, seed: 3, ...overrides,
  });

beforeAll(async () => {
  services = await openServices({ QUEUE_PREFIX: `${inject("queuePrefix")}_orch` });
  await startWorkers(services);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services.close();
});

describe("a search end to end in-process", () => {
  it("completes with exactly maxTrials completed trials, no duplicates, and its strategy state stored", async () => {
    const s = await search({ maxTrials: 40, maxParallel: 6 });
    await services.queues.enqueueAdvance(s.id);
    const done = await waitFor("search completion", async () => {
      const row = await services.db.search.findUnique({ where: { id: s.id } });
      return row?.status === "completed" ? row : undefined;
    }, 60_000);
    const trials = await services.db.trial.findMany({ where: { searchId: s.id } });
    expect(trials.filter((t) => t.status === "completed")).toHaveLength(40);
    expect(trials).toHaveLength(40);
    expect(new Set(trials.map((t) => t.archHash)).size).toBe(40);
    expect(trials.filter((t) => !(t.attempts === 1 && t.told && t.worker === "test")).map((t) => ({ attempts: t.attempts, told: t.told, worker: t.worker }))).toEqual([]);
    expect((done.strategyState as { seen: string[] }).seen).toHaveLength(40);
    expect(done.trialsCreated).toBe(40);
  });
});

describe("multi-fidelity scheduling", () => {
  it("ASHA prunes trials at its rungs; pruned and completed trials together make maxTrials", async () => {
    const s = await search({ task: "asha-test", maxTrials: 60, maxParallel: 6, scheduler: { type: "asha", minBudget: 1, maxBudget: 27, eta: 3 } });
    await services.queues.enqueueAdvance(s.id);
    const done = await waitFor("search completion", async () => {
      const row = await services.db.search.findUnique({ where: { id: s.id } });
      return row?.status === "completed" ? row : undefined;
    }, 60_000);
    const trials = await services.db.trial.findMany({ where: { searchId: s.id }, include: { curve: true } });
    const pruned = trials.filter((t) => t.status === "pruned");
    const completed = trials.filter((t) => t.status === "completed");
    expect(pruned.length + completed.length).toBe(60);
    expect(pruned.length).toBeGreaterThan(10); // most trials stop at a low rung
    expect(completed.length).toBeGreaterThan(0);
    for (const t of pruned) {
      const budget = (t.metrics as { budget: number }).budget;
      expect([1, 3, 9]).toContain(budget);
      expect(t.objective).not.toBeNull();
      expect(t.curve.map((p) => p.step)).toEqual([1, 3, 9].filter((b) => b <= budget));
    }
    for (const t of completed) expect(t.curve.map((p) => p.step)).toEqual([1, 3, 9, 27]);
    expect((done.schedulerState as { rungScores: number[][] }).rungScores[0]!.length).toBe(60);
    // Only completed trials reach the leaderboard.
    const board = await services.db.leaderboardEntry.findMany({ where: { task: "asha-test" } });
    expect(board).toHaveLength(completed.length);
  });
});

describe("stored state", () => {
  it("a strategy state that cannot be read back fails the search with an error naming the search and the field", async () => {
    const s = await search({ task: "state-test", maxParallel: 2 });
    await advanceSearch(services.db, services.spaces, s.id);
    await services.db.search.update({ where: { id: s.id }, data: { strategyState: { rng: [1, 2, 3, 4], seen: "not a list" } } });
    const outcome = await advanceSearch(services.db, services.spaces, s.id);
    expect(outcome.status).toBe("failed");
    const row = await services.db.search.findUnique({ where: { id: s.id } });
    expect(row?.status).toBe("failed");
    expect(row?.error).toMatch(new RegExp(`^search ${s.id}: random strategy state is unreadable at seen: `));
    const trials = await services.db.trial.findMany({ where: { searchId: s.id } });
    expect(trials.every((t) => t.status === "cancelled")).toBe(true);
  });
});

describe("completion", () => {
  it("completes a trial once: a second completion is ignored and the leaderboard keeps the best", async () => {
    const s = await search({ task: "idempotence-test", maxParallel: 2 });
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    expect(await completeTrial(services.db, created[0]!.id, { test_accuracy: 70 }, 70)).toBe(s.id);
    expect(await completeTrial(services.db, created[0]!.id, { test_accuracy: 99 }, 99)).toBeNull();
    const trial = await services.db.trial.findUnique({ where: { id: created[0]!.id } });
    expect(trial?.objective).toBe(70);
    const entries = await services.db.leaderboardEntry.findMany({ where: { task: "idempotence-test" } });
    expect(entries.map((e) => e.objective)).toEqual([70]);
  });
});

describe("failures", () => {
  it("replaces failed trials and fails the search after maxFailures, storing the errors", async () => {
    // A table holding only some of the cells: lookups of the others fail with a TrialError.
    const dir = mkdtempSync(path.join(tmpdir(), "nb201-"));
    const lines = readFileSync(services.config.NASBENCH201_CSV, "utf8").trim().split("\n");
    writeFileSync(path.join(dir, "half.csv"), [lines[0], ...lines.slice(1).filter((_, i) => i % 2 === 0)].join("\n"));
    const partial = await openServices({ QUEUE_PREFIX: `${inject("queuePrefix")}_fail`, NASBENCH201_CSV: path.join(dir, "half.csv") });
    try {
      await startWorkers(partial);
      const s = await search({ maxTrials: 200, maxParallel: 4, maxFailures: 5 });
      await partial.queues.enqueueAdvance(s.id);
      const row = await waitFor("search failure", async () => {
        const r = await partial.db.search.findUnique({ where: { id: s.id } });
        return r?.status === "failed" ? r : undefined;
      }, 60_000);
      expect(row.error).toMatch(/more than budget.maxFailures = 5/);
      const failed = await partial.db.trial.findMany({ where: { searchId: s.id, status: "failed" } });
      expect(failed.length).toBeGreaterThan(5);
      expect(failed.every((t) => t.attempts === 1 && /TrialError: architecture not in the NAS-Bench-201 table/.test(t.error ?? ""))).toBe(true);
    } finally {
      await partial.close();
    }
  });
});

describe("cancellation", () => {
  it("a running trial of a cancelled search stops between steps and stays cancelled", async () => {
    const s = await search({ evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 20_000 }, maxParallel: 2 });
    await services.queues.enqueueAdvance(s.id);
    const running = await waitFor("a running trial", () => services.db.trial.findFirst({ where: { searchId: s.id, status: "running" } }), 30_000, 100);
    const { cancelSearch } = await import("../../src/db/searches.js");
    await cancelSearch(services.db, { projectId: DEFAULT_PROJECT_ID }, s.id);
    const t0 = Date.now();
    // The trainer notices within its poll interval (2 s) and its job ends well before the 20 s of "training".
    await waitFor("the trial's job to end", async () => (await services.queues.trials.getJobState(running.id)) !== "active", 10_000, 100);
    expect(Date.now() - t0).toBeLessThan(8000);
    const after = await services.db.trial.findUnique({ where: { id: running.id } });
    expect(after?.status).toBe("cancelled");
    expect(after?.metrics).toBeNull();
  });
});

describe("GPU routing", () => {
  it("sends a supernet job to the GPU queue while a GPU trainer is announced, and to any trainer otherwise", async () => {
    const own = await openServices({ QUEUE_PREFIX: `${inject("queuePrefix")}_gpu` });
    try {
      await own.queues.enqueueTrials([{ id: "00000000-0000-4000-8000-000000000001", kind: "supernet" }]);
      expect(await own.queues.trials.getJobState("00000000-0000-4000-8000-000000000001")).toBe("waiting");
      await own.queues.trainerHeartbeat("gpu-box:1", true);
      await own.queues.enqueueTrials([{ id: "00000000-0000-4000-8000-000000000002", kind: "supernet" }, { id: "00000000-0000-4000-8000-000000000003", kind: "trial" }]);
      expect(await own.queues.gpuTrials.getJobState("00000000-0000-4000-8000-000000000002")).toBe("waiting");
      expect(await own.queues.trials.getJobState("00000000-0000-4000-8000-000000000003")).toBe("waiting");
      expect(await own.queues.trialJobState("00000000-0000-4000-8000-000000000002")).toBe("waiting");
    } finally {
      await own.close();
    }
  });
});

describe("reconciliation", () => {
  it("re-enqueues queued trials whose jobs were lost and re-advances active searches", async () => {
    const own = await openServices({ QUEUE_PREFIX: `${inject("queuePrefix")}_rec` });
    try {
      const s = await search({ maxParallel: 5 });
      const { created } = await advanceSearch(own.db, own.spaces, s.id); // committed, but never enqueued: a crash
      for (const { id } of created) expect(await own.queues.trials.getJobState(id)).toBe("unknown");
      const report = await reconcile(own.db, own.queues);
      expect(report.requeued).toBeGreaterThanOrEqual(5);
      for (const { id } of created) expect(await own.queues.trials.getJobState(id)).toBe("waiting");
      expect(await reconcile(own.db, own.queues)).toMatchObject({ requeued: 0 });
    } finally {
      await own.close();
    }
  });
});

describe("migrations", () => {
  it("keep Prisma's bookkeeping: checksums match and re-running applies nothing", async () => {
    expect(await migrate(inject("databaseUrl"))).toEqual([]);
    const rows = await services.db.$queryRaw<Array<{ migration_name: string; checksum: string; finished_at: Date | null }>>`SELECT migration_name, checksum, finished_at FROM _prisma_migrations`;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const sql = readFileSync(path.join(ROOT, "prisma/migrations", r.migration_name, "migration.sql"));
      expect(r.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
      expect(r.finished_at).not.toBeNull();
    }
  });
});
