/**
 * Every registered strategy must pass this suite (the contract of src/strategies/strategy.ts): valid proposals,
 * ask(n) returns at most n, determinism for a seed, an identical continuation after a JSON state round trip, and
 * results told in any order, failed ones included. Proposals of another kind than "trial" (DARTS' supernet job)
 * are not architectures to validate; the tests report them failed, as they run no trainer.
 */
import { describe, expect, it } from "vitest";
import { STRATEGY_TYPES, createStrategy } from "../../src/strategies/registry.js";
import { constrained, drive, isTrial, nb201, resultFor, roundTrip } from "./strategies-helpers.js";

const spaces = [nb201, constrained];

describe.each(STRATEGY_TYPES)("strategy %s (conformance)", (type) => {
  const config = { type };

  it.each(spaces.map((s) => [s.id, s] as const))("proposes valid architectures of %s, at most n per ask", async (_id, space) => {
    const s = createStrategy(config, space, 3);
    for (const n of [1, 3, 8, 2, 5, 8, 8, 8, 8, 8]) {
      const proposals = await s.ask(n);
      expect(proposals.length).toBeLessThanOrEqual(n);
      for (const p of proposals.filter(isTrial)) expect(space.validate(p.architecture)).toEqual([]);
      await s.tell(proposals.map((p, i) => resultFor(p, `t${n}-${i}`, i)));
    }
  });

  it("is deterministic for a seed, and the seed matters", async () => {
    const run = (seed: number) => drive(createStrategy(config, nb201, seed), nb201, { rounds: 8, perRound: 5, orderSeed: 1, failRate: 0.2 }, "x");
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    // A strategy that draws anything at random must draw differently for another seed.
    if (a.filter(isTrial).length > 1) expect(await run(8)).not.toEqual(a);
  });

  it.each(spaces.map((s) => [s.id, s] as const))("continues identically after a JSON state round trip mid-run (%s)", async (_id, space) => {
    const a = createStrategy(config, space, 11);
    await drive(a, space, { rounds: 6, perRound: 4, orderSeed: 2, failRate: 0.1 }, "p");
    const b = createStrategy(config, space, 11, roundTrip(a.state()));
    const rest = { rounds: 5, perRound: 4, orderSeed: 3, failRate: 0.1 };
    expect(await drive(b, space, rest, "q")).toEqual(await drive(a, space, rest, "q"));
    expect(roundTrip(b.state())).toEqual(roundTrip(a.state()));
  });

  it("takes results in any order, failed ones included, and keeps proposing valid architectures", async () => {
    const s = createStrategy(config, constrained, 5);
    const proposals = await drive(s, constrained, { rounds: 10, perRound: 6, orderSeed: 4, failRate: 0.4 });
    // Strategies that propose trials from the start keep doing so (DARTS waits for its supernet instead).
    if (proposals.length > 0 && isTrial(proposals[0]!)) expect(proposals.length).toBeGreaterThan(30);
    // Only failures: still no error, still valid proposals.
    const more = await drive(s, constrained, { rounds: 3, perRound: 3, orderSeed: 5, failRate: 1 });
    for (const p of [...proposals, ...more].filter(isTrial)) expect(constrained.validate(p.architecture)).toEqual([]);
  });
});
