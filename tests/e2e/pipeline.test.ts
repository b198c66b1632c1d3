/**
 * End to end over HTTP: the API, one orchestrator and two trainers run as separate processes (as operators start
 * them) on the real PostgreSQL and Redis; the NAS-Bench-201 random search of the issue runs to completion, also
 * when a trainer is killed with SIGKILL in the middle of its trials.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { nb201ToString } from "../../src/spaces/nasbench201.js";
import { startCluster } from "../setup/cluster.js";
import { waitFor } from "../setup/env.js";
import { NB201_SEARCH } from "../setup/services.js";

const table = new Map(
  readFileSync(loadConfig().NASBENCH201_CSV, "utf8").trim().split("\n").slice(1).map((l) => {
    const [, arch, v] = l.split(",");
    return [arch!, Number(v)] as const;
  }),
);

describe("NAS-Bench-201 random search over HTTP with separate processes", () => {
  it("completes exactly 200 trials with no duplicate architectures; the leaderboard's best is the table's max over them", async () => {
    const cluster = await startCluster("e2e_plain", { trainerEnv: { TRAINER_CONCURRENCY: "4" } });
    try {
      const created = await cluster.post("/v1/searches", NB201_SEARCH);
      expect(created.status).toBe(201);
      const search = await cluster.waitForSearch(created.body.id, 240_000);
      const trials = await cluster.trials(created.body.id);
      const board = await cluster.get("/v1/leaderboard?space=nasbench201&task=cifar10&limit=10");
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials).toMatchObject({ total: 200, completed: 200, failed: 0 });
      expect(trials.filter((t) => t.status === "completed")).toHaveLength(200);
      expect(new Set(trials.map((t) => t.archHash)).size).toBe(200);
      const values = trials.map((t) => table.get(nb201ToString(t.architecture))!);
      for (const t of trials) expect(t.objective).toBe(table.get(nb201ToString(t.architecture)));
      expect(board.rows[0].objective).toBe(Math.max(...values));
      expect(search.best.objective).toBe(Math.max(...values));
      expect(search.bestSoFar).toHaveLength(200);
      expect(search.bestSoFar.at(-1)).toBe(Math.max(...values));
    } finally {
      await cluster.stop();
    }
  }, 300_000);

  it("recovers the trials of a trainer killed with SIGKILL mid-trial: still exactly 200 completed", async () => {
    const cluster = await startCluster("e2e_kill", { trainerEnv: { TRAINER_CONCURRENCY: "4", JOB_LOCK_MS: "3000", STALLED_INTERVAL_MS: "1000" } });
    try {
      // Every trial "trains" for LATENCY_MS, so a trial seen starting on the victim moments ago is still in its hands
      // when the kill lands: the test does not depend on how the two trainers happen to share the work.
      const LATENCY_MS = 400;
      const created = await cluster.post("/v1/searches", { ...NB201_SEARCH, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: LATENCY_MS } });
      const id = created.body.id;
      await waitFor("40 completed trials before the kill", async () => (await cluster.get(`/v1/searches/${id}`)).trials.completed >= 40, 120_000);
      const victim = cluster.trainers[0]!;
      const victimName = `:${victim.child.pid}`;
      const held = await waitFor(
        "a trial that started on the victim less than a quarter of its latency ago",
        async () => {
          const running: any[] = (await cluster.get(`/v1/searches/${id}/trials?status=running&limit=100`)).items;
          return running.find((t) => String(t.worker).endsWith(victimName) && Date.now() - Date.parse(t.startedAt) < LATENCY_MS / 4);
        },
        60_000,
        10,
      );
      victim.child.kill("SIGKILL");
      const search = await cluster.waitForSearch(id, 240_000);
      const trials = await cluster.trials(id);
      expect(victim.child.signalCode).toBe("SIGKILL");
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials).toMatchObject({ total: 200, completed: 200, failed: 0 });
      expect(new Set(trials.map((t) => t.archHash)).size).toBe(200);
      // The killed trainer was in the middle of trials: they were started twice and completed once.
      expect(trials.find((t) => t.id === held.id)?.attempts, cluster.outputs()).toBeGreaterThanOrEqual(2);
      expect(trials.filter((t) => t.attempts >= 2).length, cluster.outputs()).toBeGreaterThan(0);
      expect(trials.every((t) => t.status === "completed")).toBe(true);
    } finally {
      await cluster.stop();
    }
  }, 300_000);
});
