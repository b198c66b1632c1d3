import { describe, expect, it } from "vitest";
import { neighbours } from "../../src/strategies/local-search.js";
import { createStrategy } from "../../src/strategies/registry.js";
import { Rng } from "../../src/core/rng.js";
import type { Architecture } from "../../src/spaces/definition.js";
import type { TrialResult } from "../../src/strategies/strategy.js";
import { constrained, nb201 } from "./strategies-helpers.js";

describe("local search", () => {
  it("enumerates the one-decision neighbours that satisfy the constraints", () => {
    const rng = new Rng(1);
    const arch = nb201.sample(rng);
    const n = neighbours(nb201, arch, rng);
    expect(n).toHaveLength(6 * 4);
    for (const a of n) expect(nb201.slots(arch).filter((s) => a[s.path] !== s.value)).toHaveLength(1);
    const c = constrained.sample(rng);
    for (const a of neighbours(constrained, c, rng)) expect(constrained.validate(a)).toEqual([]);
  });

  it("climbs to the optimum of a unimodal objective, each proposal new", async () => {
    const target = nb201.sample(new Rng(99));
    const score = (a: Architecture) => nb201.slots(target).filter((s) => a[s.path] === s.value).length;
    const s = createStrategy({ type: "local-search", initialSamples: 5 }, nb201, 3);
    const seen = new Set<string>();
    let best = 0;
    for (let round = 0; round < 40 && best < 6; round++) {
      const proposals = await s.ask(4);
      const results = proposals.map((p, i): TrialResult => {
        seen.add(nb201.hash(p.architecture));
        best = Math.max(best, score(p.architecture));
        return { trialId: `t${round}-${i}`, architecture: p.architecture, status: "completed", objective: score(p.architecture), score: score(p.architecture), metrics: {}, parentId: p.parentId ?? null };
      });
      await s.tell(results.reverse());
    }
    expect(best).toBe(6);
    // 6 decisions × 4 alternatives: a greedy walk needs far fewer than the 15 625 architectures.
    expect(seen.size).toBeLessThanOrEqual(160);
  });

  it("restarts from random samples at a local optimum", async () => {
    // Every architecture scores the same: the first center is at once a local optimum.
    const s = createStrategy({ type: "local-search", initialSamples: 2 }, nb201, 4);
    for (let round = 0; round < 30; round++) {
      const proposals = await s.ask(3);
      await s.tell(proposals.map((p, i) => ({ trialId: `t${round}-${i}`, architecture: p.architecture, status: "completed", objective: 1, score: 1, metrics: {}, parentId: null })));
    }
    expect((s.state() as { runs: number }).runs).toBeGreaterThanOrEqual(2);
  });
});
