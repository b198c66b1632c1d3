import { describe, expect, it } from "vitest";
import { Encoder } from "../../src/strategies/predictor.js";
import { KernelRidge } from "../../src/strategies/ridge.js";
import { createStrategy } from "../../src/strategies/registry.js";
import { Rng } from "../../src/core/rng.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { constrained, nb201 } from "./strategies-helpers.js";

describe("predictor-guided strategy", () => {
  it("its kernel is the dot product of one-hot (and pairwise) encodings", () => {
    const rng = new Rng(1);
    for (const space of [nb201, constrained]) {
      const linear = new Encoder(space, false);
      const pairwise = new Encoder(space, true);
      for (let i = 0; i < 20; i++) {
        const a = linear.codes(space.sample(rng));
        const b = linear.codes(space.sample(rng));
        const shared = [...a].filter((x) => b.includes(x)).length;
        expect(linear.kernel(a, b)).toBe(shared);
        expect(pairwise.kernel(a, b)).toBe(shared + (shared * (shared - 1)) / 2);
        expect(linear.kernel(a, a)).toBe(a.length);
      }
    }
  });

  it("kernel ridge recovers an additive function of one-hot features", () => {
    const rng = new Rng(2);
    const enc = new Encoder(nb201, false);
    const weights = Array.from({ length: 30 }, () => rng.normal());
    const f = (codes: Int32Array) => [...codes].reduce((s, c) => s + weights[c]!, 0);
    const train = Array.from({ length: 150 }, () => enc.codes(nb201.sample(rng)));
    const gram = train.map((a) => Float64Array.from(train, (b) => enc.kernel(a, b)));
    const model = KernelRidge.fit(gram, train.map(f), 1e-3);
    for (let i = 0; i < 10; i++) {
      const x = enc.codes(nb201.sample(rng));
      expect(model.predict(train.map((t) => enc.kernel(x, t)))).toBeCloseTo(f(x), 1);
    }
  });

  it("finds the optimum of a unimodal objective quickly", async () => {
    const target = nb201.sample(new Rng(7));
    const score = (a: Architecture) => nb201.slots(target).filter((s) => a[s.path] === s.value).length;
    const s = createStrategy({ type: "predictor" }, nb201, 3);
    let best = 0;
    let trials = 0;
    while (best < 6 && trials < 100) {
      const proposals = await s.ask(4);
      trials += proposals.length;
      best = Math.max(best, ...proposals.map((p) => score(p.architecture)));
      await s.tell(proposals.map((p, i) => ({ trialId: `t${trials}-${i}`, architecture: p.architecture, status: "completed", objective: score(p.architecture), score: score(p.architecture), metrics: {}, parentId: null })));
    }
    expect(best).toBe(6);
  });
});
