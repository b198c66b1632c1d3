/**
 * GET /v1/workers and the routing of trials between CPU and GPU trainers, on this run's PostgreSQL and Redis with a
 * real trainer in-process (wasm here: no GPU is lent to these tests, so the GPU trainer is a heartbeat written the
 * way a GPU trainer writes it), and an orchestrator for the one search that trains.
 *   - a trainer's heartbeat lists it with its backend, device, queue, pid, host and the trial in hand; any key of any
 *     project sees the same list (shared infrastructure, no project data); no key → 401;
 *   - a heartbeat lives three heartbeats and is gone after that (a trainer killed outright), or at once on close;
 *   - GPU-sized trials (supernet jobs, trials whose estimated FLOPs reach GPU_TRIAL_MIN_FLOPS) go to `trials-gpu`
 *     while a GPU trainer is alive, and to `trials` otherwise; a CPU trainer never takes one from `trials-gpu`.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { startOrchestrator, startTrainer, type ProcessHandle, type TrainerHandle } from "../../src/processes.js";
import { isGpuSized, Queues } from "../../src/queue/queues.js";
import { listHeartbeats, writeHeartbeat } from "../../src/queue/heartbeats.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { openServices, withKey, type Client } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let trainer: TrainerHandle | undefined;
let orchestrator: ProcessHandle | undefined;
let a: Client;
let b: Client;
let anonymous: Client;
const prefix = `${inject("queuePrefix")}_workers`;

beforeAll(async () => {
  database = await freshDatabase("workers");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: prefix });
  trainer = await startTrainer({ ...services.config, WORKER_NAME: "workers-cpu", LOG_LEVEL: "silent" });
  orchestrator = await startOrchestrator({ ...services.config, LOG_LEVEL: "silent" });
  const app = await services.app();
  a = withKey(app, (await services.key("workers-a", "read")).key);
  b = withKey(app, (await services.key("workers-b")).key);
  anonymous = withKey(app, null);
}, 120_000);
afterAll(async () => {
  await Promise.all([trainer?.close(), orchestrator?.close()]);
  await services.close();
  await database.drop();
});

describe("GET /v1/workers", () => {
  it("lists the live trainer with its backend, device and queue, the same for every project's key", async () => {
    const res = await a.inject("/v1/workers");
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as Array<Record<string, unknown>>;
    const me = items.find((w) => w.id === "workers-cpu");
    expect(me).toMatchObject({ kind: "trainer", queue: "trials", backend: trainer!.backend, pid: process.pid, running: null });
    expect(String(me!.device)).toMatch(/1 thread/);
    expect(Date.parse(String(me!.lastSeenAt))).toBeGreaterThanOrEqual(Date.parse(String(me!.startedAt)));
    expect((await b.inject("/v1/workers")).json()).toEqual(res.json());
    expect((await anonymous.inject("/v1/workers")).statusCode).toBe(401);
  });

  it("shows the trial in hand while the trainer trains it, and null again after", async () => {
    const created = await b.inject({
      method: "POST", url: "/v1/searches",
      payload: { name: "workers-flow", space: "flow-2d", strategy: { type: "random" }, evaluator: { type: "train", task: "8gaussians", budget: { steps: 60 } }, objective: { metric: "gap_nats", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 5 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const running = await waitFor("the trainer to report a trial in hand", async () => (await listHeartbeats(services.redis, prefix)).find((h) => h.id === "workers-cpu")?.running, 60_000, 20);
    const trial = await b.inject(`/v1/trials/${running}`);
    expect(trial.statusCode).toBe(200);
    expect(trial.json().searchId ?? created.json().id).toBe(created.json().id);
    await waitFor("the trainer to be idle again", async () => (await listHeartbeats(services.redis, prefix)).find((h) => h.id === "workers-cpu")?.running === null, 120_000, 100);
  }, 180_000);

  it("drops a worker whose heartbeat expired (killed outright), and skips entries that are not heartbeats", async () => {
    const base = { kind: "trainer" as const, queue: "trials-gpu" as const, backend: "webgpu", device: "a GPU", pid: 1, host: "elsewhere", startedAt: new Date().toISOString(), running: null };
    await writeHeartbeat(services.redis, prefix, { ...base, id: "short-lived" }, 1);
    expect((await a.inject("/v1/workers")).json().items.map((w: { id: string }) => w.id)).toContain("short-lived");
    await waitFor("the heartbeat to expire", async () => !(await listHeartbeats(services.redis, prefix)).some((h) => h.id === "short-lived"), 5000, 100);
    // A value that is not a heartbeat (another version's) is left out rather than failing the list.
    await services.redis.set(`${prefix}:workers:garbage`, "not json", "EX", 5);
    expect((await a.inject("/v1/workers")).statusCode).toBe(200);
    expect((await listHeartbeats(services.redis, prefix)).some((h) => h.id === "garbage")).toBe(false);
  });
});

describe("routing trials between CPU and GPU trainers", () => {
  it("GPU-sized: supernet jobs, and trials whose estimated FLOPs reach GPU_TRIAL_MIN_FLOPS (0: supernet jobs only)", () => {
    expect(isGpuSized({ id: "x", kind: "supernet" }, 0)).toBe(true);
    expect(isGpuSized({ id: "x", kind: "trial", flops: 5e13 }, 1e13)).toBe(true);
    expect(isGpuSized({ id: "x", kind: "trial", flops: 1e13 }, 1e13)).toBe(true);
    expect(isGpuSized({ id: "x", kind: "trial", flops: 9e12 }, 1e13)).toBe(false);
    expect(isGpuSized({ id: "x", kind: "trial", flops: 5e13 }, 0)).toBe(false);
    expect(isGpuSized({ id: "x", kind: "trial" }, 1e13)).toBe(false); // cost unknown (a benchmark lookup): CPU
  });

  it("sends GPU-sized trials to trials-gpu only while a GPU trainer is alive", async () => {
    const routing = new Queues(services.redis, { ...services.config, QUEUE_PREFIX: `${prefix}_routing`, GPU_TRIAL_MIN_FLOPS: 1e12 });
    try {
      const [big, small, supernet, later] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      // No GPU trainer: everything to `trials` (a search never waits for a GPU that is not there).
      await routing.enqueueTrials([{ id: later, kind: "trial", flops: 5e12 }]);
      expect(await routing.trials.getJobState(later)).not.toBe("unknown");
      // Many other keys in Redis (a busy queue's jobs): the GPU trainer is still found.
      await routing.connection.mset(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`${prefix}_routing:filler:${i}`, "1"])));
      expect(await routing.gpuTrainerPresent()).toBe(false);
      await routing.trainerHeartbeat("gpu-1", true);
      expect(await routing.gpuTrainerPresent()).toBe(true);
      await routing.enqueueTrials([{ id: big, kind: "trial", flops: 5e12 }, { id: small, kind: "trial", flops: 1e9 }, { id: supernet, kind: "supernet" }]);
      expect(await routing.gpuTrials.getJobState(big)).not.toBe("unknown");
      expect(await routing.gpuTrials.getJobState(supernet)).not.toBe("unknown");
      expect(await routing.trials.getJobState(small)).not.toBe("unknown");
      expect(await routing.trials.getJobState(big)).toBe("unknown");
      expect(await routing.trialJobState(big)).not.toBe("unknown");
    } finally {
      await routing.trials.obliterate({ force: true });
      await routing.gpuTrials.obliterate({ force: true });
      await routing.trainerGone("gpu-1", true);
      await services.redis.del(...Array.from({ length: 5000 }, (_, i) => `${prefix}_routing:filler:${i}`));
      await routing.close();
    }
  });

  it("a CPU trainer never takes a job from trials-gpu", async () => {
    const id = randomUUID();
    await services.queues.trainerHeartbeat("gpu-elsewhere", true);
    try {
      await services.queues.enqueueTrials([{ id, kind: "supernet" }]);
      expect(await services.queues.gpuTrials.getJobState(id)).toBe("waiting");
      await new Promise((r) => setTimeout(r, 1500)); // the in-process CPU trainer polls `trials` only
      expect(await services.queues.gpuTrials.getJobState(id)).toBe("waiting");
    } finally {
      await services.queues.gpuTrials.remove(id);
      await services.queues.trainerGone("gpu-elsewhere", true);
    }
  });
});
