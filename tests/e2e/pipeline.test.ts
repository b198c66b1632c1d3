/**
 * End to end over HTTP: the API, one orchestrator and two trainers run as separate processes (as operators start
 * them) on the real PostgreSQL and Redis; the NAS-Bench-201 random search of the issue runs to completion, also
 * when a trainer is killed with SIGKILL in the middle of its trials.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { loadConfig } from "../../src/config.js";
import { nb201ToString } from "../../src/spaces/nasbench201.js";
import { freePort, freshDatabase, startService, stopAll, testEnv, waitFor, waitForApi, type ServiceProcess } from "../setup/env.js";
import { NB201_SEARCH } from "../setup/services.js";

const table = new Map(
  readFileSync(loadConfig().NASBENCH201_CSV, "utf8").trim().split("\n").slice(1).map((l) => {
    const [, arch, v] = l.split(",");
    return [arch!, Number(v)] as const;
  }),
);

interface Trial { id: string; status: string; architecture: Record<string, string>; archHash: string; objective: number | null; attempts: number }

async function runCluster(name: string, opts: { trainerEnv?: Record<string, string>; evaluator?: object; killTrainerAfter?: number }) {
  const db = await freshDatabase(name);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = testEnv({ DATABASE_URL: db.url, QUEUE_PREFIX: `${inject("queuePrefix")}_${name}`, PORT: String(port), RECONCILE_INTERVAL_S: "5" });
  const procs: ServiceProcess[] = [];
  try {
    const api = startService("api", env);
    procs.push(api, startService("orchestrator", env));
    const trainers = [startService("trainer", { ...env, ...opts.trainerEnv }), startService("trainer", { ...env, ...opts.trainerEnv })];
    procs.push(...trainers);
    await waitForApi(base, api);

    const res = await fetch(`${base}/v1/searches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...NB201_SEARCH, evaluator: opts.evaluator ?? NB201_SEARCH.evaluator }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const get = async (url: string) => (await fetch(`${base}${url}`)).json() as Promise<any>;

    let killed: ServiceProcess | undefined;
    if (opts.killTrainerAfter !== undefined) {
      await waitFor("trials to complete before the kill", async () => (await get(`/v1/searches/${id}`)).trials.completed >= opts.killTrainerAfter!, 120_000);
      killed = trainers[0]!;
      killed.child.kill("SIGKILL");
    }
    const search = await waitFor("the search to complete", async () => {
      const s = await get(`/v1/searches/${id}`);
      return ["completed", "failed", "cancelled"].includes(s.status) ? s : undefined;
    }, 240_000, 500);

    const trials: Trial[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Trial[]; nextCursor: string | null } = await get(`/v1/searches/${id}/trials?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
      trials.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const board = await get(`/v1/leaderboard?space=nasbench201&task=cifar10&limit=10`);
    return { search, trials, board, killed, outputs: procs.map((p) => `${p.name}: ${p.output().slice(-2000)}`).join("\n") };
  } finally {
    await stopAll(procs);
    await db.drop();
  }
}

describe("NAS-Bench-201 random search over HTTP with separate processes", () => {
  it("completes exactly 200 trials with no duplicate architectures; the leaderboard's best is the table's max over them", async () => {
    const { search, trials, board, outputs } = await runCluster("e2e_plain", { trainerEnv: { TRAINER_CONCURRENCY: "4" } });
    expect(search.status, outputs).toBe("completed");
    expect(search.trials).toMatchObject({ total: 200, completed: 200, failed: 0 });
    expect(trials.filter((t) => t.status === "completed")).toHaveLength(200);
    expect(new Set(trials.map((t) => t.archHash)).size).toBe(200);
    const values = trials.map((t) => table.get(nb201ToString(t.architecture))!);
    for (const t of trials) expect(t.objective).toBe(table.get(nb201ToString(t.architecture)));
    expect(board.rows[0].objective).toBe(Math.max(...values));
    expect(search.best.objective).toBe(Math.max(...values));
    expect(search.bestSoFar).toHaveLength(200);
    expect(search.bestSoFar.at(-1)).toBe(Math.max(...values));
  }, 300_000);

  it("recovers the trials of a trainer killed with SIGKILL mid-trial: still exactly 200 completed", async () => {
    const { search, trials, killed, outputs } = await runCluster("e2e_kill", {
      trainerEnv: { TRAINER_CONCURRENCY: "4", JOB_LOCK_MS: "3000", STALLED_INTERVAL_MS: "1000" },
      evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 150 },
      killTrainerAfter: 40,
    });
    expect(killed?.child.signalCode).toBe("SIGKILL");
    expect(search.status, outputs).toBe("completed");
    expect(search.trials).toMatchObject({ total: 200, completed: 200, failed: 0 });
    expect(new Set(trials.map((t) => t.archHash)).size).toBe(200);
    // The killed trainer was in the middle of trials: they were started twice and completed once.
    expect(trials.filter((t) => t.attempts >= 2).length, outputs).toBeGreaterThan(0);
    expect(trials.every((t) => t.status === "completed")).toBe(true);
  }, 300_000);
});
