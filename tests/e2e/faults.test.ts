/**
 * Infrastructure faults are not trial failures. The service runs as separate processes (API, orchestrator, two
 * trainers) on a PostgreSQL cluster and a Redis server of this file's own (tests/setup/private-services.ts: the
 * shared ones at :5432 and :6379 are never touched), and a NAS-Bench-201 search whose trials take LATENCY_MS is
 * hit mid-way by one fault per test: the orchestrator or the API killed and restarted, Redis flushed or restarted,
 * PostgreSQL restarted or its connections terminated. Each search must still end `completed` with exactly maxTrials
 * completed trials, none failed, none completed twice, nothing left in the queues, and the processes that were not
 * killed still up. A trial whose evaluation hangs times out (TRIAL_TIMEOUT_S) and its trainer goes on.
 *
 * Every test prints its recovery times ("[faults] …": fault → the search progressing again, i.e. a trial created
 * after the fault completed, and fault → the search completed).
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { startCluster, type Cluster } from "../setup/cluster.js";
import { waitFor, type Started } from "../setup/env.js";
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from "../setup/private-services.js";
import { NB201_SEARCH } from "../setup/services.js";

/** Simulated training time of a trial: long enough that a fault lands while trials are in hand. */
const LATENCY_MS = 300;
/** Trainer slots (2 trainers × 4) below maxParallel, so that trial jobs also wait in the queue when a fault lands. */
const TRAINER_CONCURRENCY = 4;
const MAX_PARALLEL = 12;
const TRIAL_TIMEOUT_S = 4;
/** The PostgreSQL outage, at least (the fault itself, not a wait for a state). */
const PG_OUTAGE_MS = 5000;
const DATABASE = "nas_faults";

let redis: PrivateRedis;
let postgres: PrivatePostgres;
let cluster: Cluster;
/** The test's own view of PostgreSQL (it survives the restarts: a pool with an error listener). */
let watch: pg.Pool;
let trialsQueue: Queue;
let advanceQueue: Queue;
let queueRedis: Redis;
let seed = 100;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
  const url = postgres.url(DATABASE);
  await migrate(url);
  cluster = await startCluster("faults", {
    database: { url, drop: async () => {} }, // the whole cluster goes in afterAll
    // Short job locks: an advance or a trial whose process was killed is taken up again within seconds.
    env: { REDIS_URL: redis.url, LOG_LEVEL: "info", RECONCILE_INTERVAL_S: "5", INFRA_RETRY_MAX_S: "120", TRIAL_TIMEOUT_S: String(TRIAL_TIMEOUT_S), JOB_LOCK_MS: "3000", STALLED_INTERVAL_MS: "1000" },
    // debug: a trainer says which statement of a trial waits for PostgreSQL (the PostgreSQL test waits for that).
    trainerEnv: { TRAINER_CONCURRENCY: String(TRAINER_CONCURRENCY), LOG_LEVEL: "debug" },
  });
  watch = new pg.Pool({ connectionString: url, max: 2 });
  watch.on("error", () => {});
  queueRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
  queueRedis.on("error", () => {});
  const prefix = cluster.env.QUEUE_PREFIX!;
  trialsQueue = new Queue("trials", { connection: queueRedis, prefix });
  advanceQueue = new Queue("advance", { connection: queueRedis, prefix });
  trialsQueue.on("error", () => {});
  advanceQueue.on("error", () => {});
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await Promise.all([trialsQueue?.close(), advanceQueue?.close()]).catch(() => {});
  queueRedis?.disconnect();
  await watch?.end().catch(() => {});
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

interface Snapshot {
  status: string;
  completed: number;
  failed: number;
  running: number;
  queued: number;
}

/** The search's state straight from PostgreSQL (undefined while PostgreSQL does not answer). */
async function snapshot(searchId: string): Promise<Snapshot | undefined> {
  try {
    const { rows } = await watch.query<Snapshot>(
      `SELECT s.status::text AS status,
         count(t.id) FILTER (WHERE t.status = 'completed')::int AS completed, count(t.id) FILTER (WHERE t.status = 'failed')::int AS failed,
         count(t.id) FILTER (WHERE t.status = 'running')::int AS running, count(t.id) FILTER (WHERE t.status = 'queued')::int AS queued
       FROM searches s LEFT JOIN trials t ON t.search_id = s.id WHERE s.id = $1 GROUP BY s.status`,
      [searchId],
    );
    return rows[0];
  } catch {
    return undefined;
  }
}

async function rows<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[] | undefined> {
  return watch.query<T>(sql, params).then((r) => r.rows, () => undefined);
}

/** The processes that must still be up (the ones a test kills are taken out by it). */
const killed = new Set<Started>();
const alive = () => cluster.procs.filter((p) => !killed.has(p));

function expectAllUp() {
  for (const p of alive()) {
    expect({ name: p.name, exitCode: p.child.exitCode, signal: p.child.signalCode }, cluster.outputs()).toEqual({ name: p.name, exitCode: null, signal: null });
  }
}

/**
 * Waits until the API answers requests again: after an outage of PostgreSQL it answers 503 with Retry-After until its
 * next health check sees the database (DB_HEALTH_CHECK_MS), as a client is told to wait.
 */
async function apiAnswering(): Promise<void> {
  await waitFor("the API to answer requests", () => cluster.fetch("/v1/searches?limit=1").then((r) => r.ok, () => false), 30_000, 100);
}

async function submit(name: string, maxTrials: number, evaluator: Record<string, unknown> = { type: "benchmark", dataset: "cifar10", latencyMs: LATENCY_MS }, budget: Record<string, number> = {}) {
  await apiAnswering();
  const created = await cluster.post("/v1/searches", { ...NB201_SEARCH, name, evaluator, budget: { maxTrials, maxParallel: MAX_PARALLEL, ...budget }, seed: seed++ });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

/**
 * Runs a search to completion with `fault` applied once trials are running and `before` have completed; prints the
 * recovery times and checks the search ended exact.
 */
async function searchThrough(label: string, fault: (searchId: string) => Promise<string | void>, opts: { maxTrials?: number; before?: number; maxParallel?: number } = {}) {
  const maxTrials = opts.maxTrials ?? 48;
  const before = opts.before ?? 8;
  const id = await submit(`faults-${label.replace(/\W+/g, "-")}`, maxTrials, undefined, opts.maxParallel ? { maxParallel: opts.maxParallel } : {});
  await waitFor(`${label}: trials running and ${before} completed`, async () => {
    const s = await snapshot(id);
    return s && s.completed >= before && s.running > 0;
  }, 60_000, 20);
  const t0 = Date.now();
  const note = await fault(id);
  const created = new Date(t0);
  await waitFor(`${label}: a trial created after the fault completed (${cluster.outputs()})`, async () => (await rows(`SELECT 1 FROM trials WHERE search_id = $1 AND status = 'completed' AND queued_at > $2 LIMIT 1`, [id, created]))?.length, 120_000, 20);
  const progressingMs = Date.now() - t0;
  const end = await waitFor(`${label}: the search ending`, async () => {
    const s = await snapshot(id);
    return s && !["queued", "running"].includes(s.status) ? s : undefined;
  }, 120_000, 50);
  const completedMs = Date.now() - t0;
  console.log(`[faults] ${label}: search progressing again ${progressingMs} ms after the fault, completed ${completedMs} ms after it${note ? ` (${note})` : ""}`);
  expect(end.status, cluster.outputs()).toBe("completed");
  await expectExact(id, maxTrials);
  return id;
}

/** The pipeline test's checks, through the API, and nothing left behind in the queues. */
async function expectExact(id: string, maxTrials: number) {
  await apiAnswering();
  const search = await cluster.get(`/v1/searches/${id}`);
  const trials = await cluster.trials(id);
  expect(search.status, cluster.outputs()).toBe("completed");
  expect(search.trials).toMatchObject({ total: maxTrials, completed: maxTrials, failed: 0, queued: 0, running: 0 });
  expect(trials.filter((t) => t.status === "completed")).toHaveLength(maxTrials);
  expect(trials.every((t) => t.status === "completed" && t.error === null)).toBe(true);
  expect(new Set(trials.map((t) => t.id)).size).toBe(maxTrials);
  expect(new Set(trials.map((t) => t.archHash)).size).toBe(maxTrials);
  const board = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM leaderboard_entries WHERE search_id = $1`, [id]);
  expect(board?.[0]?.n).toBeLessThanOrEqual(maxTrials);
  // Nothing stuck: duplicate jobs of trials already completed (a queue rebuilt from PostgreSQL) run out as skips.
  await waitFor("the trial and advance queues to drain", async () => {
    const [t, a] = await Promise.all([trialsQueue.getJobCounts("wait", "active", "delayed", "prioritized", "failed"), advanceQueue.getJobCounts("wait", "active", "delayed", "prioritized")]);
    return Object.values(t).every((n) => n === 0) && Object.values(a).every((n) => n === 0);
  }, 30_000, 100);
}

/** How many times a process logged a line matching `re`. */
const count = (p: Started, re: RegExp) => p.output().split("\n").filter((l) => re.test(l)).length;

describe("infrastructure faults are not trial failures (two trainers, a NAS-Bench-201 search in progress)", () => {
  it("the orchestrator killed with SIGKILL and restarted: the search stalls, then goes on where it stopped", async () => {
    await searchThrough("orchestrator SIGKILL", async (id) => {
      const orchestrator = cluster.procs.find((p) => p.name === "orchestrator" && !killed.has(p))!;
      orchestrator.child.kill("SIGKILL");
      await orchestrator.exited;
      killed.add(orchestrator);
      // Without an orchestrator nothing new is created: the trials in hand finish and the search stalls. A trial the
      // orchestrator committed but was killed before enqueueing stays queued until the restarted orchestrator's
      // reconciler finds it, so "stalled" is: nothing running and nothing finishing for 3 s, whatever is queued.
      let last = "";
      let since = Date.now();
      await waitFor("the search to stall", async () => {
        const s = await snapshot(id);
        const now = s ? `${s.running}/${s.queued}/${s.completed}/${s.failed}` : "";
        if (now !== last) [last, since] = [now, Date.now()];
        return s && s.running === 0 && Date.now() - since >= 3_000;
      }, 60_000, 20);
      const t = Date.now();
      const restarted = cluster.start("orchestrator");
      await waitFor("the new orchestrator to be ready", async () => /orchestrator ready/.test(restarted.output()), 60_000, 50);
      return `a new orchestrator ready ${Date.now() - t} ms after its start`;
    });
    expectAllUp();
  }, 120_000);

  it("the API killed with SIGKILL and restarted: trials go on without it, and it answers again", async () => {
    await searchThrough("API SIGKILL", async (id) => {
      const api = cluster.procs.find((p) => p.name === "api" && !killed.has(p))!;
      api.child.kill("SIGKILL");
      await api.exited;
      killed.add(api);
      const s0 = (await snapshot(id))!;
      // The API is not in the path of a trial: the search progresses while it is down.
      await waitFor("progress without the API", async () => ((await snapshot(id))?.completed ?? 0) > s0.completed, 30_000, 20);
      const t = Date.now();
      cluster.start("api");
      await waitFor("the API to answer again", () => cluster.fetch(`/v1/searches/${id}`).then((r) => r.ok, () => false), 60_000, 50);
      return `the new API answering ${Date.now() - t} ms after its start`;
    });
    expectAllUp();
  }, 120_000);

  it("Redis flushed mid-search: the orchestrator sees the queues gone and rebuilds them from PostgreSQL", async () => {
    await searchThrough("Redis FLUSHALL", async (id) => {
      // Trial jobs wait in the queue (maxParallel 24, twice the trainers' slots), besides those in hand.
      await waitFor("trials waiting in the queue", async () => ((await snapshot(id))?.queued ?? 0) >= 8, 30_000, 5);
      const orchestrator = alive().find((p) => p.name === "orchestrator")!;
      const logged = orchestrator.output().length;
      const t = Date.now();
      await redis.flush();
      // Lost: the trials still queued now, whose jobs went with the flush; nothing but the reconciler brings them back.
      const queued = (await rows<{ id: string }>(`SELECT id FROM trials WHERE search_id = $1 AND status = 'queued'`, [id]))!.map((r) => r.id);
      expect(queued.length).toBeGreaterThan(0);
      // Rebuilt: every one of them has been started again (its job re-created).
      await waitFor("the lost queued trials to start", async () => (await rows(`SELECT 1 FROM trials WHERE id = ANY($1) AND status = 'queued'`, [queued]))?.length === 0, 60_000, 20);
      const rebuiltMs = Date.now() - t;
      // By the reconciler: at once when it saw its mark gone from Redis, or by its periodic sweep if that came first.
      const since = () => orchestrator.output().slice(logged);
      await waitFor("the orchestrator to report the lost work", async () => /reconciled lost work/.test(since()), 10_000, 20);
      const how = /Redis lost its queues/.test(since()) ? "the loss seen by the orchestrator" : "by its periodic sweep";
      return `${queued.length} queued trials lost with their jobs, all started again ${rebuiltMs} ms after the flush, ${how}`;
    }, { maxParallel: 2 * MAX_PARALLEL });
    expectAllUp();
  }, 120_000);

  it("Redis restarted mid-search (empty: no persistence): every process stays up, reconnects, the queues are rebuilt", async () => {
    const down = new Map(alive().map((p) => [p, count(p, /Redis unreachable/)] as const));
    const up = new Map(alive().map((p) => [p, count(p, /Redis reachable again after/)] as const));
    await searchThrough("Redis restart", async () => {
      const t = Date.now();
      await redis.stopServer();
      let outageMs = 0;
      try {
        // Down until every process has met the outage.
        await waitFor("every process to meet the outage", async () => alive().every((p) => count(p, /Redis unreachable/) > down.get(p)!), 30_000, 20);
      } finally {
        outageMs = Date.now() - t;
        await redis.startServer();
      }
      return `Redis down for ${outageMs} ms, back empty`;
    });
    expectAllUp();
    // Logged once per outage (not once per reconnection attempt or per connection), and the recovery too.
    await waitFor("every process to log the recovery", async () => alive().every((p) => count(p, /Redis reachable again after/) > up.get(p)!), 10_000, 50);
    for (const p of alive()) {
      expect(count(p, /Redis unreachable/) - down.get(p)!, `${p.name}: ${p.output().slice(-3000)}`).toBe(1);
      expect(count(p, /Redis reachable again after/) - up.get(p)!, `${p.name}: ${p.output().slice(-3000)}`).toBe(1);
    }
  }, 120_000);

  it("PostgreSQL restarted mid-search: every process stays up, retries, reconnects; no trial fails", async () => {
    const workers = () => alive().filter((p) => p.name !== "api");
    const trainers = () => alive().filter((p) => p.name === "trainer");
    const down = new Map(alive().map((p) => [p, count(p, /PostgreSQL unreachable/)] as const));
    const up = new Map(alive().map((p) => [p, count(p, /PostgreSQL reachable again/)] as const));
    const retried = new Map(alive().map((p) => [p, count(p, /retrying until PostgreSQL is back: complete the trial/)] as const));
    await searchThrough("PostgreSQL restart", async () => {
      const t = Date.now();
      let outageMs = 0;
      await postgres.stopServer();
      try {
        // Down until every process but the API has met the outage and trials that finished training cannot be
        // stored (their completion is being retried): an outage of the work in progress, not a blink.
        const retrying = () => trainers().reduce((n, p) => n + count(p, /retrying until PostgreSQL is back: complete the trial/) - retried.get(p)!, 0);
        await waitFor("the trainers to retry completions, every process to meet the outage", async () => workers().every((p) => count(p, /PostgreSQL unreachable/) > down.get(p)!) && retrying() > 0, 60_000, 20)
          .catch((err: Error) => {
            throw new Error(`${err.message}\n${cluster.outputs()}`);
          });
        // And down for PG_OUTAGE_MS at least: longer than TRIAL_ATTEMPTS' backoffs (1 + 2 s), which an outage used
        // to exhaust, failing every trial in flight.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, PG_OUTAGE_MS - (Date.now() - t))));
      } finally {
        outageMs = Date.now() - t;
        await postgres.startServer();
      }
      return `PostgreSQL down for ${outageMs} ms, ${trainers().map((p) => count(p, /retrying until PostgreSQL is back: complete the trial/) - retried.get(p)!).join(" + ")} completions retried`;
    });
    expectAllUp();
    // Logged once per outage, not once per statement, and the recovery too.
    await waitFor("every process to log the recovery", async () => workers().every((p) => count(p, /PostgreSQL reachable again after/) > up.get(p)!), 10_000, 50);
    for (const p of workers()) {
      expect(count(p, /PostgreSQL unreachable/) - down.get(p)!, `${p.name}: ${p.output().slice(-3000)}`).toBe(1);
      expect(count(p, /PostgreSQL reachable again after/) - up.get(p)!, `${p.name}: ${p.output().slice(-3000)}`).toBe(1);
    }
  }, 120_000);

  it("PostgreSQL's connections terminated (pg_terminate_backend) twice mid-search: every process reconnects; no trial fails", async () => {
    await searchThrough("pg_terminate_backend", async (id) => {
      const first = await postgres.terminateConnections(DATABASE);
      const s = await waitFor("a snapshot (the test's own connections were terminated too)", () => snapshot(id), 10_000, 20);
      await waitFor("more trials completed", async () => ((await snapshot(id))?.completed ?? 0) >= s.completed + 4, 60_000, 20);
      const second = await postgres.terminateConnections(DATABASE);
      expect(first + second).toBeGreaterThan(4); // the processes' pools, at least
      return `${first} then ${second} connections terminated`;
    }, { maxTrials: 60 });
    expectAllUp();
  }, 120_000);

  it("a trial whose evaluation hangs times out (TRIAL_TIMEOUT_S), fails saying so, and its trainer goes on", async () => {
    const hung = await submit("faults-hang", 1, { type: "benchmark", dataset: "cifar10", latencyMs: 600_000 }, { maxParallel: 1, maxFailures: 0 });
    const trial = await waitFor("the hanging trial to run", async () => (await rows<{ id: string; worker: string }>(`SELECT id, worker FROM trials WHERE search_id = $1 AND status = 'running'`, [hung]))?.[0], 60_000, 20);
    const t0 = Date.now();
    const failed = await waitFor("the hanging trial to fail", async () => (await rows<{ error: string; attempts: number; finished: Date }>(`SELECT error, attempts, finished_at AS finished FROM trials WHERE id = $1 AND status = 'failed'`, [trial.id]))?.[0], 60_000, 20);
    const timedOutMs = Date.now() - t0;
    expect(failed.error).toBe(`TrialTimeout: the evaluation ran longer than TRIAL_TIMEOUT_S = ${TRIAL_TIMEOUT_S} s`);
    expect(failed.attempts).toBe(1); // not retried
    const search = await waitFor("the search to end", async () => {
      const s = await snapshot(hung);
      return s && s.status !== "running" && s.status !== "queued" ? s : undefined;
    }, 30_000, 50);
    expect(search).toMatchObject({ status: "failed", failed: 1 });
    // The trainer goes on: a search submitted now completes, with trials on the trainer that ran the hanging one.
    const next = await submit("faults-after-hang", 40);
    const end = await waitFor("the next search to end", async () => {
      const s = await snapshot(next);
      return s && s.status !== "running" && s.status !== "queued" ? s : undefined;
    }, 60_000, 50);
    expect(end.status).toBe("completed");
    await expectExact(next, 40);
    const onSameTrainer = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM trials WHERE search_id = $1 AND worker = $2 AND started_at > $3`, [next, trial.worker, failed.finished]);
    expect(onSameTrainer?.[0]?.n, cluster.outputs()).toBeGreaterThan(0);
    console.log(`[faults] hanging trial: failed ${timedOutMs} ms after it was seen running (TRIAL_TIMEOUT_S = ${TRIAL_TIMEOUT_S}); its trainer then ran ${onSameTrainer?.[0]?.n} trials of the next search`);
    expectAllUp();
  }, 120_000);
});
