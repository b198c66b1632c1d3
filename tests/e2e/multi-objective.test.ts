/**
 * End to end over HTTP with real training (API, orchestrator and two trainer processes): a search of two objectives
 * (validation bits per character and parameters, both minimised) over transformer-lm under a parameter
 * constraint finishes with trained trials that all keep the constraint (the strategy never proposed one that does
 * not: nothing was refused or trained over it) and a Pareto front with its hypervolume. Mixture-of-experts trials,
 * where the space offers them, report their expert load.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dominates } from "../../src/core/pareto.js";
import { ROOT } from "../setup/env.js";
import { startCluster } from "../setup/cluster.js";

const MAX_PARAMS = 40_000;
const spaceHasMoe = readFileSync(path.join(ROOT, "search-spaces", "transformer-lm.json"), "utf8").includes("moe");

describe("a multi-objective search over REST with real trainers", () => {
  it("val_bpc and params under params ≤ 40,000: every trial trained within the bound, and a Pareto front", async () => {
    const cluster = await startCluster("e2e_multi_objective");
    try {
      const created = await cluster.post("/v1/searches", {
        name: "lm-pareto", space: "transformer-lm", strategy: { type: "evolution", populationSize: 3, sampleSize: 2 },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 15 }, batchSize: 4, contextLength: 16, evalSequences: 8, sampleLength: 0 },
        objective: [{ metric: "val_bpc", direction: "minimize" }, { metric: "params", direction: "minimize" }],
        constraints: [{ metric: "params", max: MAX_PARAMS }],
        budget: { maxTrials: 6, maxParallel: 2 }, seed: 4,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const search = await cluster.waitForSearch(created.body.id, 120_000);
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials).toMatchObject({ total: 6, completed: 6, failed: 0 });
      const trials = await cluster.trials(created.body.id);
      for (const t of trials) {
        expect(typeof t.metrics.val_bpc).toBe("number");
        expect(t.metrics.params).toBeLessThanOrEqual(MAX_PARAMS);
        expect(t.metrics.active_params).toBeLessThanOrEqual(t.metrics.params);
        if (spaceHasMoe && Array.isArray(t.metrics.expert_load)) {
          const load = t.metrics.expert_load as number[];
          expect(load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
          expect(t.metrics.dropped_fraction).toBeGreaterThanOrEqual(0);
          expect(t.metrics.dropped_fraction).toBeLessThanOrEqual(1);
        }
      }
      const pareto = await cluster.get(`/v1/searches/${created.body.id}/pareto`);
      expect(pareto.front.length).toBeGreaterThan(0);
      const points = trials.map((t) => [-t.metrics.val_bpc, -t.metrics.params]);
      for (const f of pareto.front) {
        expect(f.values).toEqual([f.metrics.val_bpc, f.metrics.params]);
        // No trial of the search is at least as good in both and better in one.
        expect(points.some((p) => dominates(p, [-f.values[0], -f.values[1]]))).toBe(false);
      }
      // The reference point's params is the constraint's bound; the hypervolume is that of the front.
      expect(pareto.referencePoint[1]).toBe(MAX_PARAMS);
      expect(pareto.hypervolume).toBeGreaterThan(0);
      const detail = await cluster.get(`/v1/searches/${created.body.id}`);
      expect(detail.pareto).toMatchObject({ size: pareto.front.length, hypervolume: pareto.hypervolume });
    } finally {
      await cluster.stop();
    }
  }, 180_000);
});
