/**
 * End to end over HTTP with real training (API, orchestrator and two trainer processes): a two-objective search
 * (validation bits per character and parameters, both minimised) over transformer-lm's mixture-of-experts
 * decisions, under a parameter constraint, warm-started with token-choice (k = 1 and 2), expert-choice and dense
 * architectures, finishes with trained trials, the MoE trials' expert-load metrics, and a Pareto front.
 */
import { describe, expect, it } from "vitest";
import { startCluster } from "../setup/cluster.js";

const MAX_PARAMS = 40_000;
const base = { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0, layers: [{ attention: "full", activation: "relu" }] };
const seeds = [
  { ...base, feed_forward: "moe-token-choice", experts: 4, top_k: 1, capacity_factor: 1.25 },
  { ...base, feed_forward: "moe-token-choice", experts: 4, top_k: 2, capacity_factor: 1.0 },
  { ...base, feed_forward: "moe-expert-choice", experts: 4, capacity_factor: 2.0 },
  { ...base, feed_forward: "dense" },
];

describe("a mixture-of-experts search over REST with real trainers", () => {
  it("MoE decisions, params ≤ 40,000, [val_bpc, params]: trained trials with expert load and a Pareto front", async () => {
    const cluster = await startCluster("e2e_moe_search");
    try {
      const created = await cluster.post("/v1/searches", {
        name: "moe-pareto", space: "transformer-lm", strategy: { type: "evolution", populationSize: 4, sampleSize: 2, seedArchitectures: seeds },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 8 }, batchSize: 4, contextLength: 16, evalSequences: 8, sampleLength: 0 },
        objective: [{ metric: "val_bpc", direction: "minimize" }, { metric: "params", direction: "minimize" }],
        constraints: [{ metric: "params", max: MAX_PARAMS }],
        budget: { maxTrials: 5, maxParallel: 2 }, seed: 6,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      // A micro-batch count that does not divide the batch is refused up front, naming the field.
      const uneven = await cluster.post("/v1/searches", {
        name: "uneven", space: "transformer-lm", strategy: { type: "random" },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 8 }, batchSize: 4, microBatches: 3 },
        objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 },
      });
      expect(uneven.status).toBe(400);
      expect(uneven.body.issues[0].field).toBe("evaluator.microBatches");
      const search = await cluster.waitForSearch(created.body.id, 120_000);
      expect(search.status, cluster.outputs()).toBe("completed");
      const trials = await cluster.trials(created.body.id);
      expect(trials.filter((t) => t.status === "completed").length).toBe(5);
      const moe = trials.filter((t) => String(t.architecture.feed_forward ?? "dense").startsWith("moe-"));
      expect(moe.length).toBeGreaterThanOrEqual(3); // the three MoE seeds at least
      for (const t of trials) {
        expect(typeof t.metrics.val_bpc).toBe("number");
        expect(t.metrics.params).toBeLessThanOrEqual(MAX_PARAMS);
        expect(t.metrics.active_params).toBeLessThanOrEqual(t.metrics.params);
      }
      for (const t of moe) {
        const load = t.metrics.expert_load as number[];
        expect(load.length).toBe(t.architecture.experts);
        expect(load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
        expect(t.metrics.dropped_fraction).toBeGreaterThanOrEqual(0);
        expect(t.metrics.dropped_fraction).toBeLessThanOrEqual(1);
        expect(t.metrics.active_params).toBeLessThan(t.metrics.params);
        // Balanced by construction: 1/E each (evolution may mutate the seeds' 4 experts to 8).
        if (t.architecture.feed_forward === "moe-expert-choice") expect(load.every((l) => Math.abs(l - 1 / load.length) < 1e-3), JSON.stringify(load)).toBe(true);
      }
      const pareto = await cluster.get(`/v1/searches/${created.body.id}/pareto`);
      expect(pareto.front.length).toBeGreaterThan(0);
      for (const f of pareto.front) expect(f.values).toEqual([f.metrics.val_bpc, f.metrics.params]);
      expect(pareto.hypervolume).toBeGreaterThan(0);
    } finally {
      await cluster.stop();
    }
  }, 150_000);
});
