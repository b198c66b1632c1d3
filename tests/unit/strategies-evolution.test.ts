import { describe, expect, it } from "vitest";
import { evolutionOptions } from "../../src/catalogue/strategies.js";
import { EvolutionStrategy } from "../../src/strategies/evolution.js";
import { createStrategy } from "../../src/strategies/registry.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { Rng } from "../../src/core/rng.js";
import type { Strategy, TrialResult } from "../../src/strategies/strategy.js";
import { constrained, drive, nb201, objective, roundTrip } from "./strategies-helpers.js";

const result = (trialId: string, architecture: Architecture, score: number | null): TrialResult => ({
  trialId,
  architecture,
  status: score === null ? "failed" : "completed",
  objective: score,
  score,
  metrics: {},
  parentId: null,
});

const populationOf = (s: Strategy) => (s.state() as { population: Array<{ trialId: string; score: number }> }).population;

describe("regularized evolution", () => {
  it("keeps the last P finished trials: the oldest dies, not the worst; failures never enter", async () => {
    const s = createStrategy({ type: "evolution", populationSize: 3, sampleSize: 2 }, nb201, 1);
    const archs = await s.ask(6);
    await s.tell([result("a", archs[0]!.architecture, 99), result("b", archs[1]!.architecture, 1), result("c", archs[2]!.architecture, 50)]);
    expect(populationOf(s).map((m) => m.trialId)).toEqual(["a", "b", "c"]);
    await s.tell([result("d", archs[3]!.architecture, 2), result("x", archs[4]!.architecture, null)]);
    // "a" was the best, but the oldest: it dies. "b", the worst, stays.
    expect(populationOf(s).map((m) => m.trialId)).toEqual(["b", "c", "d"]);
    await s.tell([result("e", archs[5]!.architecture, 3)]);
    expect(populationOf(s).map((m) => m.trialId)).toEqual(["c", "d", "e"]);
  });

  it("proposes random samples until the population is full, then children of tournament winners", async () => {
    const s = createStrategy({ type: "evolution", populationSize: 4, sampleSize: 4 }, nb201, 2);
    const first = await s.ask(10);
    // Nothing told yet: all random (no parent), all distinct.
    expect(first.every((p) => p.parentId === undefined)).toBe(true);
    expect(new Set(first.map((p) => nb201.hash(p.architecture))).size).toBe(10);
    await s.tell(first.slice(0, 4).map((p, i) => result(`t${i}`, p.architecture, i === 2 ? 90 : 10 + i)));
    const children = await s.ask(30);
    expect(children).toHaveLength(30);
    for (const c of children) {
      expect(["t0", "t1", "t2", "t3"]).toContain(c.parentId);
      const parent = first[Number(c.parentId!.slice(1))]!.architecture;
      const changed = nb201.slots(parent).filter((slot) => c.architecture[slot.path] !== slot.value);
      expect(changed).toHaveLength(1);
    }
    // S = P = 4 draws with replacement: the best member (t2) is the parent most of the time.
    expect(children.filter((c) => c.parentId === "t2").length).toBeGreaterThan(15);
  });

  it("mutates exactly one decision and respects the space's constraints", async () => {
    const s = createStrategy({ type: "evolution", populationSize: 5, sampleSize: 2 }, constrained, 3);
    const initial = await s.ask(5);
    await s.tell(initial.map((p, i) => result(`i${i}`, p.architecture, objective(constrained, p.architecture))));
    const byId = new Map(initial.map((p, i) => [`i${i}`, p.architecture]));
    for (let round = 0; round < 20; round++) {
      const [child] = await s.ask(1);
      expect(constrained.validate(child!.architecture)).toEqual([]);
      const parent = byId.get(child!.parentId!)!;
      // Exactly one of the parent's decisions changed (decisions that a change switches on or off aside).
      const parentSlots = constrained.slots(parent);
      const childSlots = new Map(constrained.slots(child!.architecture).map((x) => [x.path, x.value]));
      const changed = parentSlots.filter((x) => childSlots.has(x.path) && childSlots.get(x.path) !== x.value);
      expect(changed).toHaveLength(1);
      const id = `c${round}`;
      byId.set(id, child!.architecture);
      await s.tell([result(id, child!.architecture, objective(constrained, child!.architecture))]);
    }
  });

  it("proposes seed architectures first (warm start), once each", async () => {
    const seedArch = nb201.sample(new Rng(42));
    const s = createStrategy({ type: "evolution", seedArchitectures: [seedArch, seedArch] }, nb201, 4);
    const [first, ...rest] = await s.ask(5);
    expect(first!.architecture).toEqual(nb201.canonical(seedArch));
    expect(rest.map((p) => nb201.hash(p.architecture))).not.toContain(nb201.hash(seedArch));
  });

  it("avoids proposing an architecture twice while new ones are easy to find", async () => {
    const s = createStrategy({ type: "evolution", populationSize: 10, sampleSize: 5 }, nb201, 5);
    const proposals = await drive(s, nb201, { rounds: 40, perRound: 5, orderSeed: 6 });
    expect(new Set(proposals.map((p) => nb201.hash(p.architecture))).size).toBe(proposals.length);
  });

  it("is deterministic and continues identically after a JSON round trip", async () => {
    const make = () => createStrategy({ type: "evolution", populationSize: 8, sampleSize: 3 }, nb201, 6);
    const a = make();
    const b = make();
    const o = { rounds: 10, perRound: 3, orderSeed: 7, failRate: 0.2 };
    expect(await drive(b, nb201, o, "r")).toEqual(await drive(a, nb201, o, "r"));
    const c = createStrategy({ type: "evolution", populationSize: 8, sampleSize: 3 }, nb201, 6, roundTrip(a.state()));
    const next = { rounds: 10, perRound: 3, orderSeed: 8, failRate: 0.2 };
    expect(await drive(c, nb201, next, "s")).toEqual(await drive(a, nb201, next, "s"));
  });

  it("rejects a sample size larger than the population, naming the options", () => {
    expect(() => createStrategy({ type: "evolution", populationSize: 3, sampleSize: 4 }, nb201, 0)).toThrow(/sampleSize/);
    expect(evolutionOptions.parse({})).toMatchObject({ populationSize: 20, sampleSize: 10 });
    expect(new EvolutionStrategy({ space: nb201, seed: 0, options: evolutionOptions.parse({}) })).toBeDefined();
  });
});
