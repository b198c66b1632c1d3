import { describe, expect, it } from "vitest";
import { AshaScheduler, rungBudgets } from "../../src/schedulers/asha.js";
import { HyperbandScheduler } from "../../src/schedulers/hyperband.js";
import { createScheduler, schedulerConfigSchema } from "../../src/schedulers/registry.js";
import { Rng } from "../../src/core/rng.js";

const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("ASHA", () => {
  it("puts rungs at minBudget·eta^k below maxBudget", () => {
    expect(rungBudgets(1, 27, 3)).toEqual([1, 3, 9]);
    expect(rungBudgets(1, 30, 3)).toEqual([1, 3, 9, 27]);
    expect(rungBudgets(100, 1000, 2)).toEqual([100, 200, 400, 800]);
    expect(rungBudgets(0.1, 0.9, 3)).toEqual([0.1, 0.3]);
    expect(rungBudgets(5, 5, 3)).toEqual([]);
    expect(new AshaScheduler({ minBudget: 1, maxBudget: 27, eta: 3 }).budgets()).toEqual([1, 3, 9, 27]);
  });

  it("promotes a trial iff its rank at the rung is within max(1, ⌊m/eta⌋) of the m scores recorded so far", () => {
    const s = new AshaScheduler({ minBudget: 1, maxBudget: 9, eta: 3 });
    // m = 1: alone, it goes on.
    expect(s.report("a", 1, 5)).toBe("continue");
    // m = 2: top max(1, 0) = 1: only a new best goes on.
    expect(s.report("b", 1, 4)).toBe("prune");
    expect(s.report("c", 1, 6)).toBe("continue"); // m = 3, best
    expect(s.report("d", 1, 5.5)).toBe("prune"); // m = 4, rank 2 > 1
    expect(s.report("e", 1, 1)).toBe("prune"); // m = 5
    // m = 6: top 2. Scores 6, 5.5, 5, 4, 1 and 5.7: rank 2.
    expect(s.report("f", 1, 5.7)).toBe("continue");
    // m = 7: top 2; a tie with the second best shares its rank.
    expect(s.report("g", 1, 5.7)).toBe("continue");
    // m = 9: top 3: rank 4 (6, 5.7, 5.7 above) is pruned, even 5.6.
    expect(s.report("h", 1, 0)).toBe("prune");
    expect(s.report("i", 1, 5.6)).toBe("prune");
    // The second rung has its own record: "a" arrives first and goes on to the full budget.
    expect(s.report("a", 3, 70)).toBe("continue");
    expect(s.report("c", 3, 60)).toBe("prune");
    expect(s.report("a", 9, 80)).toBe("continue");
  });

  it("decides only where a rung is crossed, every rung crossed at once, and never revives a pruned trial", () => {
    const s = new AshaScheduler({ minBudget: 1, maxBudget: 27, eta: 3 });
    expect(s.report("a", 0.5, 1)).toBe("continue"); // below the first rung: nothing recorded
    expect(s.report("a", 10, 1)).toBe("continue"); // crosses 1, 3 and 9, first at each
    expect(s.state()).toMatchObject({ rungScores: [[1], [1], [1]] });
    expect(s.report("b", 2, 3)).toBe("continue");
    expect(s.report("c", 9, 0)).toBe("prune"); // pruned at rung 1 (rank 3 of 3): rungs 3 and 9 never see it
    expect(s.state()).toMatchObject({ rungScores: [[1, 3, 0], [1], [1]] });
    expect(s.report("c", 27, 100)).toBe("prune");
    // A repeated report (a retried job) is not counted twice.
    expect(s.report("b", 2, 3)).toBe("continue");
    expect(s.state()).toMatchObject({ rungScores: [[1, 3, 0], [1], [1]] });
  });

  it("continues identically after a JSON round trip", () => {
    const config = { type: "asha" as const, minBudget: 1, maxBudget: 81, eta: 3 };
    const rng = new Rng(1);
    const reports = Array.from({ length: 300 }, (_, i) => ({ id: `t${i % 60}`, budget: 3 ** Math.floor(i / 60), score: rng.next() }));
    const a = createScheduler(config);
    const first = reports.slice(0, 150).map((r) => a.report(r.id, r.budget, r.score));
    const b = createScheduler(config, roundTrip(a.state()));
    const restA = reports.slice(150).map((r) => a.report(r.id, r.budget, r.score));
    const restB = reports.slice(150).map((r) => b.report(r.id, r.budget, r.score));
    expect(restB).toEqual(restA);
    expect(first.filter((d) => d === "prune").length).toBeGreaterThan(30);
  });

  it("validates configurations with a message naming the field", () => {
    expect(schedulerConfigSchema.parse({ type: "asha", minBudget: 1, maxBudget: 27 })).toEqual({ type: "asha", minBudget: 1, maxBudget: 27, eta: 3 });
    expect(schedulerConfigSchema.safeParse({ type: "asha", minBudget: 10, maxBudget: 5 }).error?.issues[0]?.path).toEqual(["maxBudget"]);
    expect(schedulerConfigSchema.safeParse({ type: "asha", minBudget: 1, maxBudget: 5, eta: 1 }).success).toBe(false);
    expect(() => new AshaScheduler({ minBudget: 1, maxBudget: 9, eta: 3 }).report("a", -1, 1)).toThrow(RangeError);
  });
});

describe("asynchronous Hyperband", () => {
  it("deals trials to brackets in Hyperband's proportions, each bracket an ASHA ladder", () => {
    const s = new HyperbandScheduler({ minBudget: 1, maxBudget: 27, eta: 3 });
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 49; i++) counts[s.bracketOf(`t${i}`)]!++;
    // sMax = 3: n = ⌈4·27/4⌉, ⌈4·9/3⌉, ⌈4·3/2⌉, ⌈4·1/1⌉.
    expect(counts).toEqual([27, 12, 6, 4]);
    const budgets = new Set(Array.from({ length: 49 }, (_, i) => s.budgets(`t${i}`).join()));
    expect([...budgets].sort()).toEqual(["1,3,9,27", "27", "3,9,27", "9,27"]);
    const restored = createScheduler({ type: "hyperband", minBudget: 1, maxBudget: 27, eta: 3 }, roundTrip(s.state())) as HyperbandScheduler;
    expect(restored.bracketOf("new")).toBe(s.bracketOf("new"));
  });
});
