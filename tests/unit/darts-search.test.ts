/**
 * DARTS finds the operation a task needs: associative recall needs attention that reaches back to the key–value
 * pairs, so on it α's argmax must leave `none` (no attention) and `local` with a window of 4 (too short to reach
 * the pairs) for `full` attention, within a small budget, with first- and second-order updates.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { DartsConfigInput } from "../../src/catalogue/strategies.js";
import { runSupernetJob } from "../../src/evaluators/supernet.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));

async function search(order: 1 | 2) {
  const series: Array<{ step: number; full: number; none: number }> = [];
  const darts: DartsConfigInput = {
    order,
    supernetSteps: 60,
    warmupSteps: 10,
    weightLearningRate: 1e-2,
    alphaLearningRate: 0.05,
    attentionCandidates: ["full", "local"],
    activationCandidates: ["relu"],
    window: 4,
    baseArchitecture: { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 1, positions: "learned", norm: "pre_ln", dropout: 0 },
  };
  const result = await runSupernetJob(
    { space, seed: 1, darts, train: { task: "assoc-recall", batchSize: 16, contextLength: 16, recall: { keys: 8, values: 8, pairs: 4 }, evalSequences: 32 } },
    {
      reportProgress: () => {},
      reportAlphas: (step, a) => void series.push({ step, full: a["layers[0].attention"]!.full!, none: a["layers[0].attention"]!.none! }),
      shouldStop: () => false,
      log: () => {},
    },
  );
  return { result, series };
}

describe("DARTS on associative recall", () => {
  for (const order of [1, 2] as const) {
    it(`order ${order}: α's argmax moves from a uniform start to full attention, away from none and a too-short local window`, async () => {
      const { result, series } = await search(order);
      const attention = result.alphas["layers[0].attention"]!;
      const winner = Object.entries(attention).sort((a, b) => b[1] - a[1])[0]![0];
      expect(winner).toBe("full");
      expect(attention.full!).toBeGreaterThan(0.5);
      expect(attention.none!).toBeLessThan(1 / 3);
      expect(series[0]).toMatchObject({ step: 0, full: expect.closeTo(1 / 3, 5) as number });
      expect(series.at(-1)!.step).toBe(60);
      expect(result.derived[0]).toMatchObject({ layers: [{ attention: "full", activation: "relu" }] });
      expect(result.steps).toBe(60);
    });
  }
});
