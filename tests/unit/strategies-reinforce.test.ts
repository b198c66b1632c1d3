import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { reinforceOptions } from "../../src/catalogue/strategies.js";
import { controllerHeads, ReinforceStrategy } from "../../src/strategies/reinforce.js";
import { createStrategy } from "../../src/strategies/registry.js";
import { SearchSpace } from "../../src/spaces/space.js";
import type { TrialResult } from "../../src/strategies/strategy.js";
import { constrained, drive, nb201, roundTrip } from "./strategies-helpers.js";

/** One decision that matters (x) and three fillers, so that 4 000 architectures keep proposals fresh. */
const toy = new SearchSpace({
  id: "toy-reward",
  version: 1,
  family: "test",
  decisions: [
    { name: "x", type: "categorical", values: ["a", "b", "c", "d"] },
    { name: "f1", type: "integer", min: 0, max: 9 },
    { name: "f2", type: "integer", min: 0, max: 9 },
    { name: "f3", type: "integer", min: 0, max: 9 },
  ],
});

describe("REINFORCE controller strategy", () => {
  it("has one head per decision, per position for repeated ones", () => {
    const { index, sizes } = controllerHeads(constrained);
    expect([...index.keys()]).toEqual([
      "d_model", "n_heads", "n_layers",
      "layers[0].attention", "layers[0].window", "layers[1].attention", "layers[1].window", "layers[2].attention", "layers[2].window",
    ]);
    expect(sizes).toEqual([4, 4, 3, 2, 4, 2, 4, 2, 4]);
  });

  it("moves its policy towards a rewarded choice within about a hundred updates", async () => {
    const s = new ReinforceStrategy({ space: toy, seed: 1, options: reinforceOptions.parse({ batchSize: 2 }) });
    await s.ask(1);
    const before = s.firstDecisionProbabilities();
    const tensors = tf.memory().numTensors;
    let told = 0;
    for (let round = 0; round < 60; round++) {
      const proposals = await s.ask(4);
      await s.tell(
        proposals.map((p, i): TrialResult => {
          const score = p.architecture.x === "c" ? 1 : 0;
          return { trialId: `t${told + i}`, architecture: p.architecture, status: "completed", objective: score, score, metrics: {}, parentId: null };
        }),
      );
      told += proposals.length;
    }
    const after = s.firstDecisionProbabilities();
    // A long-lived orchestrator must not leak tensors: sampling and updates dispose everything they make.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(before[2]).toBeLessThan(0.35);
    expect(after[2]).toBeGreaterThan(0.8);
    expect((s.state() as { updates: number }).updates).toBe(120);
  });

  it("keeps weights, optimizer state and unused results in its state: a restored strategy continues identically", async () => {
    const a = createStrategy({ type: "reinforce", batchSize: 3 }, nb201, 21);
    // 7 results per round with batches of 3: the state always holds some results not yet used.
    await drive(a, nb201, { rounds: 4, perRound: 7, orderSeed: 1, failRate: 0.1 }, "a");
    const stored = roundTrip(a.state()) as { updates: number; queue: unknown[]; controller: { adam: { step: number } } };
    expect(stored.updates).toBeGreaterThan(5);
    expect(stored.controller.adam.step).toBe(stored.updates);
    expect(stored.queue.length).toBeGreaterThan(0);
    const b = createStrategy({ type: "reinforce", batchSize: 3 }, nb201, 21, stored as never);
    const o = { rounds: 4, perRound: 7, orderSeed: 2, failRate: 0.1 };
    expect(await drive(b, nb201, o, "b")).toEqual(await drive(a, nb201, o, "b"));
    expect(roundTrip(b.state())).toEqual(roundTrip(a.state()));
  });

  it("depends on the order of results only through that order: the same order gives the same search", async () => {
    const run = async (orderSeed: number) => drive(createStrategy({ type: "reinforce", batchSize: 2 }, nb201, 4), nb201, { rounds: 5, perRound: 4, orderSeed }, "o");
    expect(await run(1)).toEqual(await run(1));
  });
});
