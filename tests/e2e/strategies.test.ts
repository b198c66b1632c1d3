/**
 * Strategies over HTTP with separate processes: an evolution search and a REINFORCE search on NAS-Bench-201, run at
 * the same time by three trainers, finish with the requested number of trials and a best above the median of what
 * random search finds with the same number of trials.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startCluster } from "../setup/cluster.js";
import { NB201_SEARCH } from "../setup/services.js";

const TRIALS = 200;
const accuracies = readFileSync(loadConfig().NASBENCH201_CSV, "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[2])).sort((a, b) => a - b);
/** Median of the best of TRIALS uniform draws: the accuracy x with F(x)^TRIALS = 1/2. */
const randomMedian = accuracies[Math.ceil(accuracies.length * 0.5 ** (1 / TRIALS)) - 1]!;

describe("strategies over HTTP", () => {
  it(`evolution and REINFORCE searches of ${TRIALS} trials beat random search's median best (${randomMedian.toFixed(2)})`, async () => {
    const cluster = await startCluster("e2e_strategies", { trainers: 3, trainerEnv: { TRAINER_CONCURRENCY: "4" } });
    try {
      const ids: Record<string, string> = {};
      for (const type of ["evolution", "reinforce"]) {
        const created = await cluster.post("/v1/searches", { ...NB201_SEARCH, name: `nb201-${type}`, strategy: { type }, budget: { maxTrials: TRIALS, maxParallel: 8 }, seed: 11 });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        ids[type] = created.body.id;
      }
      for (const [type, id] of Object.entries(ids)) {
        const search = await cluster.waitForSearch(id, 300_000);
        expect(search.status, `${type}: ${cluster.outputs()}`).toBe("completed");
        expect(search.trials).toMatchObject({ total: TRIALS, completed: TRIALS });
        expect(search.best.objective, type).toBeGreaterThan(randomMedian);
        const trials = await cluster.trials(id);
        if (type === "evolution") {
          expect(new Set(trials.map((t) => t.archHash)).size, type).toBe(TRIALS);
          // Children record their parent (lineage), which is a trial of the same search.
          const byId = new Set(trials.map((t) => t.id));
          const children = trials.filter((t) => t.parentId);
          expect(children.length).toBeGreaterThan(TRIALS / 2);
          for (const c of children) expect(byId.has(c.parentId)).toBe(true);
        }
      }
    } finally {
      await cluster.stop();
    }
  }, 400_000);
});
