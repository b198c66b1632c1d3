/**
 * End to end over HTTP with real training: the requests of the Transformer and flow issues run on two trainer
 * processes and their trials carry curves, metrics, samples and pictures.
 */
import { describe, expect, it } from "vitest";
import { loadNativeBlas } from "../../src/models/native-blas.js";
import { startCluster } from "../setup/cluster.js";

/** Trainers report "wasm+openblas" where the native addon and OpenBLAS are installed (as in CI), else "wasm". */
const wasmLabel = loadNativeBlas().blas ? "wasm+openblas" : "wasm";

describe("searches that train with tfjs, over HTTP with two trainers", () => {
  it("a transformer-lm search (the issue's lm-smoke request) finishes with curves, metrics and text samples", async () => {
    const cluster = await startCluster("e2e_lm");
    try {
      const created = await cluster.post("/v1/searches", {
        name: "lm-smoke", space: "transformer-lm", strategy: { type: "random" },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 },
        objective: { metric: "val_bpc", direction: "minimize" },
        budget: { maxTrials: 4, maxParallel: 2 }, seed: 3,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const search = await cluster.waitForSearch(created.body.id, 600_000);
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials.completed).toBe(4);
      const trials = await cluster.trials(created.body.id);
      expect(new Set(trials.map((t) => t.worker)).size).toBe(2); // both trainers trained
      for (const t of trials) {
        const detail = await cluster.get(`/v1/trials/${t.id}`);
        expect(detail.status).toBe("completed");
        for (const m of ["val_bpc", "val_loss", "params", "flops_per_token", "tokens_per_second"]) expect(typeof detail.metrics[m], m).toBe("number");
        expect(detail.metrics.val_bpc).toBeCloseTo(detail.metrics.val_loss / Math.LN2, 6);
        expect(detail.metrics.val_bpc).toBeLessThan(Math.log2(83) + 0.5); // learned something of the 83-character vocabulary
        expect(detail.metrics.backend).toBe(wasmLabel);
        expect(typeof detail.metrics.sample).toBe("string");
        expect(detail.metrics.sample.length).toBeGreaterThanOrEqual(200);
        expect(detail.curve.some((p: { values: Record<string, number> }) => "train_loss" in p.values)).toBe(true);
        expect(detail.curve.some((p: { values: Record<string, number> }) => "val_loss" in p.values)).toBe(true);
      }
      const board = await cluster.get(`/v1/leaderboard?space=transformer-lm&limit=10`);
      expect(board.rows).toHaveLength(4);
      expect(board.rows[0].objective).toBe(Math.min(...trials.map((t) => t.objective)));
    } finally {
      await cluster.stop();
    }
  }, 660_000);

  it("a DARTS search (the issue's darts-smoke request): one supernet job with an α series, then k+1 retrained trials", async () => {
    const cluster = await startCluster("e2e_darts");
    try {
      const created = await cluster.post("/v1/searches", {
        name: "darts-smoke", space: "transformer-lm", strategy: { type: "darts", order: 1, supernetSteps: 40, deriveTop: 2 },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 },
        objective: { metric: "val_bpc", direction: "minimize" },
        budget: { maxTrials: 3, maxParallel: 2 }, seed: 7,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const search = await cluster.waitForSearch(created.body.id, 600_000);
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials).toMatchObject({ total: 3, completed: 3 });
      const all = await cluster.trials(created.body.id);
      const supernet = all.filter((t) => t.kind === "supernet");
      const trials = all.filter((t) => t.kind === "trial");
      expect(supernet).toHaveLength(1);
      expect(supernet[0].objective).toBeNull();
      expect(supernet[0].metrics.note).toMatch(/not the score of any architecture/);
      expect(trials).toHaveLength(3);
      // The derived architectures, argmax first, are what was retrained, each from scratch, with lineage to the supernet.
      expect(trials.map((t) => t.architecture)).toEqual(supernet[0].metrics.derived);
      for (const t of trials) {
        expect(t.parentId).toBe(supernet[0].id);
        expect(typeof t.metrics.val_bpc).toBe("number");
      }
      expect(new Set(trials.map((t) => t.archHash)).size).toBe(3);
      // The α series: every decision's weights at regular steps, each a distribution.
      const series = await cluster.get(`/v1/searches/${created.body.id}/alphas`);
      expect(series.items.length).toBeGreaterThanOrEqual(3);
      expect(series.items.map((a: { step: number }) => a.step)).toEqual([...series.items.map((a: { step: number }) => a.step)].sort((a: number, b: number) => a - b));
      for (const snapshot of series.items) {
        for (const weights of Object.values(snapshot.alphas) as Array<Record<string, number>>) {
          expect(Object.values(weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        }
      }
      expect(search.supernet).toMatchObject({ trialId: supernet[0].id, status: "completed", alphasUrl: `/v1/searches/${created.body.id}/alphas` });
      expect(search.supernet.alphas).toEqual(series.items.at(-1).alphas);
      // The leaderboard has the retrained trials only.
      const board = await cluster.get(`/v1/leaderboard?space=transformer-lm&limit=10`);
      expect(board.rows.map((r: { trialId: string }) => r.trialId).sort()).toEqual(trials.map((t) => t.id).sort());
    } finally {
      await cluster.stop();
    }
  }, 660_000);

  it("a flow-2d search (the issue's flow-smoke request) finishes with gaps, curves and density pictures", async () => {
    const cluster = await startCluster("e2e_flow");
    try {
      const created = await cluster.post("/v1/searches", {
        name: "flow-smoke", space: "flow-2d", strategy: { type: "random" },
        evaluator: { type: "train", task: "8gaussians", budget: { steps: 200 } },
        objective: { metric: "gap_nats", direction: "minimize" },
        budget: { maxTrials: 4, maxParallel: 2 }, seed: 5,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const search = await cluster.waitForSearch(created.body.id, 600_000);
      expect(search.status, cluster.outputs()).toBe("completed");
      expect(search.trials.completed).toBe(4);
      for (const t of await cluster.trials(created.body.id)) {
        const detail = await cluster.get(`/v1/trials/${t.id}`);
        for (const m of ["gap_nats", "test_nll", "params"]) expect(typeof detail.metrics[m], m).toBe("number");
        expect(detail.metrics.gap_nats).toBeCloseTo(detail.metrics.test_nll - detail.metrics.true_entropy, 6);
        expect(detail.metrics.gap_nats).toBeGreaterThan(-0.1); // ≥ 0 up to sampling error
        expect(detail.metrics.backend).toBe(wasmLabel);
        expect(detail.curve.some((p: { values: Record<string, number> }) => "train_loss" in p.values)).toBe(true);
        expect(detail.artifacts.map((a: { name: string }) => a.name)).toContain("density.png");
        const png = await cluster.fetch(`/v1/trials/${t.id}/artifacts/density.png`);
        expect(png.status).toBe(200);
        expect(png.headers.get("content-type")).toBe("image/png");
        expect([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      }
      expect((await cluster.fetch(`/v1/trials/${search.best.id}/artifacts/nope.png`)).status).toBe(404);
    } finally {
      await cluster.stop();
    }
  }, 660_000);
});
