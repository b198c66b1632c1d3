/**
 * Infrastructure faults in-process, on this run's PostgreSQL and Redis: work that meets an outage is handed back or
 * delayed without counting an attempt, and a trial whose trainer keeps dying fails saying so
 * (tests/e2e/faults.test.ts breaks real services under running processes).
 */
import { Worker, type Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createDb } from "../../src/db/client.js";
import { DEFAULT_PROJECT_ID } from "../../src/db/projects.js";
import { createSearch } from "../../src/db/searches.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { ADVANCE_QUEUE, createRedis, delayOnOutage, TRIALS_QUEUE, type AdvanceJob, type TrialJob } from "../../src/queue/queues.js";
import { TrialRunner } from "../../src/trainer/trial-runner.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { openServices } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
const workers: Worker[] = [];

// A database of its own: the in-process orchestrators of other test files reconcile every active search of theirs,
// and would take these searches' trials over.
beforeAll(async () => {
  database = await freshDatabase("infra");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_infra`, ADVANCE_ATTEMPTS: "1", TRIAL_ATTEMPTS: "1" });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await services?.close();
  await database?.drop();
});

const search = (name: string) =>
  createSearch(services.db, { projectId: DEFAULT_PROJECT_ID }, {
    name, space: "nasbench201", task: "infra-test", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
    objectiveMetric: "test_accuracy", objectiveDirection: "maximize", maxTrials: 4, maxParallel: 4, maxFailures: 4, seed: 11,
  });

function worker<T>(queue: string, fn: (job: Job<T>, token?: string) => Promise<unknown>): Worker<T> {
  const w = new Worker<T>(queue, fn, { connection: createRedis(services.config.REDIS_URL), prefix: services.config.QUEUE_PREFIX, stalledInterval: 60_000 });
  w.on("error", () => {});
  workers.push(w as Worker);
  return w;
}

const runner = (overrides: Partial<typeof services.config> = {}, db = services.db) =>
  new TrialRunner({ db, queues: services.queues, spaces: services.spaces, config: { ...services.config, ...overrides }, workerName: "infra-test", log: () => {} });

describe("worker deaths", () => {
  it("a trial whose trainer died more than MAX_STALLED_COUNT times in a row fails saying so; stalls before an attempt that ended alive do not count", async () => {
    const s = await search("deaths");
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    const job = (trialId: string, stalledCounter: number, stalledBase?: number) =>
      ({ data: { trialId, ...(stalledBase !== undefined ? { stalledBase } : {}) }, stalledCounter, attemptsMade: 0, opts: { attempts: 1 } }) as unknown as Job<TrialJob>;
    const r = runner({ MAX_STALLED_COUNT: 2 });
    expect(await r.process(job(created[0]!.id, 3))).toBe("failed: its trainer died too often");
    expect(await r.process(job(created[1]!.id, 2))).toBe("completed"); // two deaths: run again
    expect(await r.process(job(created[2]!.id, 5, 3))).toBe("completed"); // 2 in a row since an attempt ended alive
    const trials = await services.db.trial.findMany({ where: { id: { in: created.slice(0, 3).map((t) => t.id) } } });
    const byId = new Map(trials.map((t) => [t.id, t]));
    expect(byId.get(created[0]!.id)).toMatchObject({ status: "failed", attempts: 0, error: "its trainer died 3 times in a row while running it (the job stalled; more than MAX_STALLED_COUNT = 2)" });
    expect(byId.get(created[1]!.id)).toMatchObject({ status: "completed", attempts: 1 });
    expect(byId.get(created[2]!.id)).toMatchObject({ status: "completed", attempts: 1 });
  });
});

describe("outages of work in hand", () => {
  it("a trainer that cannot reach PostgreSQL for INFRA_RETRY_MAX_S hands the job back: delayed, no attempt counted, the trial untouched; it completes once PostgreSQL answers", async () => {
    const s = await search("hand-back");
    const { created } = await advanceSearch(services.db, services.spaces, s.id);
    const id = created[0]!.id;
    const unreachable = createDb("postgresql://root@127.0.0.1:1/nas", 2);
    const down = runner({ INFRA_RETRY_MAX_S: 1 }, unreachable);
    const outcomes: string[] = [];
    const first = worker<TrialJob>(TRIALS_QUEUE, (job, token) => down.process(job, token).then((r) => void outcomes.push(r), (e: Error) => { outcomes.push(e.name); throw e; }));
    await services.queues.enqueueTrials([{ id }]);
    await waitFor("the job handed back", async () => (await services.queues.trialJobState(id)) === "delayed", 20_000, 50);
    await first.close();
    await unreachable.$disconnect();
    expect(outcomes).toEqual(["DelayedError"]);
    const handedBack = (await services.queues.trialJob(id))!;
    expect(handedBack.attemptsMade).toBe(0);
    expect(await services.db.trial.findUnique({ where: { id } })).toMatchObject({ status: "queued", attempts: 0, error: null });
    // PostgreSQL answers again: the delayed job runs and completes the trial (TRIAL_ATTEMPTS = 1 was never spent).
    const up = runner();
    worker<TrialJob>(TRIALS_QUEUE, (job) => up.process(job));
    let last = "";
    const done = await waitFor("the trial completed", async () => {
      const t = await services.db.trial.findUnique({ where: { id } });
      last = `trial ${t?.status} (${t?.attempts} attempts, ${t?.error}), job ${await services.queues.trialJobState(id)}`;
      return t?.status === "completed" ? t : undefined;
    }, 20_000, 50).catch((err: Error) => {
      throw new Error(`${err.message}: ${last}`);
    });
    expect(done).toMatchObject({ attempts: 1, error: null });
  });

  it("an advance that meets an outage is delayed and run again with its attempts untouched (ADVANCE_ATTEMPTS = 1)", async () => {
    const s = await search("advance-delay");
    let calls = 0;
    const seen: AdvanceJob[] = [];
    const completed: Array<Job<AdvanceJob>> = [];
    const w = worker<AdvanceJob>(ADVANCE_QUEUE, async (job, token) => {
      try {
        if (job.data.searchId !== s.id) return "another search's"; // advances the other tests asked for
        seen.push(structuredClone(job.data));
        if (++calls <= 2) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
        return "advanced";
      } catch (err) {
        return delayOnOutage(job, token, err, { maxMs: 60_000 });
      }
    });
    w.on("completed", (job) => void completed.push(job));
    await services.queues.enqueueAdvance(s.id);
    const job = await waitFor("the advance to complete", async () => completed.find((j) => j.data.searchId === s.id), 20_000, 50);
    expect(calls).toBe(3);
    expect(job.attemptsMade).toBe(1); // the run that completed; the two delayed ones counted none
    expect(seen.map((d) => d.infraRetry?.n)).toEqual([undefined, 1, 2]);
    // Any other error is thrown as it is (and counts, as before).
    await expect(delayOnOutage(job, undefined, new Error("a bug"), { maxMs: 60_000 })).rejects.toThrow("a bug");
  });
});
