/**
 * Every registered strategy must pass this suite (the contract of src/strategies/strategy.ts): valid proposals,
 * ask(n) returns at most n, determinism for a seed, an identical continuation after a JSON state round trip (mid-run
 * and at every step), results told in any order, failed ones included, a StateError naming the field for a state it
 * cannot read, and proposals within the constraints of every built-in space the strategy supports. Proposals of
 * another kind than "trial" (DARTS' supernet job) are not architectures to validate but jobs, which must name an
 * evaluator of the catalogue with options it accepts; most tests report them failed, as they run no trainer, and
 * `driveWithJobs` reports a supernet job completed with architectures sampled from the space.
 */
import { describe, expect, it } from "vitest";
import { evaluatorEntry } from "../../src/catalogue/evaluators.js";
import { strategyEntry } from "../../src/catalogue/strategies.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { loadConfig } from "../../src/config.js";
import { StateError } from "../../src/core/errors.js";
import type { JsonValue } from "../../src/core/json.js";
import { Rng } from "../../src/core/rng.js";
import { createEvaluator } from "../../src/evaluators/registry.js";
import type { SearchSpace } from "../../src/spaces/space.js";
import { STRATEGY_TYPES, createStrategy } from "../../src/strategies/registry.js";
import type { Proposal, Strategy, TrialResult } from "../../src/strategies/strategy.js";
import { builtInSpaces, compatibleSearch, constrained, drive, driveWithJobs, isTrial, jobResult, nb201, objective, resultFor, roundTrip, withField, wrongType } from "./helpers.js";

const spaces = [nb201, constrained];
/** The built-in spaces of the families the service trains (or looks up); each strategy runs on those it supports. */
const familySpaces = builtInSpaces().filter((s) => ["nasbench201", "transformer", "flow"].includes(s.family));

/** A finished trial for a proposal: a job gets `jobResult` (a supernet completed), a trial its objective or fails. */
function outcome(p: Proposal, space: SearchSpace, trialId: string, rng: Rng): TrialResult {
  const failed = rng.next() < 0.2;
  if (!isTrial(p)) return jobResult(p, space, trialId, rng.int(1000));
  return resultFor(p, trialId, failed ? null : objective(space, p.architecture));
}

/** A job proposal names an evaluator that the catalogue describes and the registry implements, with options it accepts. */
function expectRunnableJob(p: Proposal, space: SearchSpace): void {
  expect(p.job, `a proposal of kind ${String(p.kind)} carries job: {evaluator, options}`).toEqual({ evaluator: expect.any(String), options: expect.any(Object) });
  const { evaluator, options } = p.job!;
  expect(roundTrip(p.job)).toEqual(p.job); // stored as JSON with the trial
  const entry = evaluatorEntry(evaluator);
  expect(entry, `job evaluator '${evaluator}' is in the catalogue`).toBeDefined();
  expect(createEvaluator(evaluator, loadConfig()), `job evaluator '${evaluator}' is implemented`).toBeDefined();
  const parsed = entry!.options.safeParse(options);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(entry!.incompatibility(space, parsed.data!, { metric: "", direction: "minimize" })).toBeUndefined();
  expect(p.architecture).toEqual(expect.any(Object));
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, none was thrown");
}

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

  it.each(spaces.map((s) => [s.id, s] as const))("makes the same proposals when recreated from its JSON state before every ask and every tell (%s)", async (_id, space) => {
    const plain = createStrategy(config, space, 17);
    let restored: Strategy = createStrategy(config, space, 17);
    const reload = () => (restored = createStrategy(config, space, 17, roundTrip(restored.state())));
    const rng = new Rng(6);
    let told = 0;
    for (const n of [3, 1, 4, 4, 2, 5, 3, 4, 6, 2]) {
      const expected = await plain.ask(n);
      reload();
      expect(roundTrip(await restored.ask(n))).toEqual(roundTrip(expected));
      const results = rng.shuffle(expected.map((p, i) => outcome(p, space, `r-${told + i}`, rng)));
      told += results.length;
      // Told in two parts, each after a round trip, as the orchestrator tells what finished between two advances.
      for (const part of [results.slice(0, 1), results.slice(1)].filter((r) => r.length > 0)) {
        await plain.tell(part);
        reload();
        await restored.tell(part);
      }
      reload();
      expect(roundTrip(restored.state())).toEqual(roundTrip(plain.state()));
    }
    expect(told).toBeGreaterThan(0);
  });

  it("refuses a state it cannot read with a StateError naming the bad field", async () => {
    const s = createStrategy(config, constrained, 5);
    await driveWithJobs(s, constrained, { rounds: 4, perRound: 3, orderSeed: 7, failRate: 0.2 }, "c");
    const good = roundTrip(s.state());
    expect(() => createStrategy(config, constrained, 5, good)).not.toThrow();
    for (const bad of [{}, "garbage", 42, true, [], [good]] as JsonValue[]) {
      expect(() => createStrategy(config, constrained, 5, bad), JSON.stringify(bad).slice(0, 40)).toThrow(StateError);
    }
    if (typeof good !== "object" || good === null || Array.isArray(good)) return;
    const fields = Object.keys(good);
    expect(fields.length).toBeGreaterThan(0);
    // An empty object: the message names one of the fields a state has.
    const empty = thrown(() => createStrategy(config, constrained, 5, {}));
    expect(fields.some((f) => new RegExp(`\\b${f}\\b`).test(empty.message)), empty.message).toBe(true);
    // Every field of a real state in turn holding a value of another type: the message names that field.
    for (const field of fields) {
      const err = thrown(() => createStrategy(config, constrained, 5, withField(good, field, wrongType(good[field]!))));
      expect(err, field).toBeInstanceOf(StateError);
      expect(err.message).toMatch(new RegExp(`\\b${field}\\b`));
    }
  });

  const supported = familySpaces.filter((space) => compatibleSearch(config, space));
  it.each(supported.map((s) => [s.id, s] as const))("proposes architectures within the constraints of the built-in space %s (and runnable jobs)", async (_id, space) => {
    const s = createStrategy(config, space, 21);
    const proposals = await driveWithJobs(s, space, { rounds: 6, perRound: 4, orderSeed: 8, failRate: 0.1 }, "b");
    expect(proposals.filter(isTrial).length).toBeGreaterThan(0);
    for (const p of proposals) {
      if (isTrial(p)) expect(space.validate(p.architecture)).toEqual([]);
      else expectRunnableJob(p, space);
    }
  });
});

it("every strategy supports some built-in space", () => {
  for (const type of STRATEGY_TYPES) expect(familySpaces.filter((s) => compatibleSearch({ type }, s)).map((s) => s.id), type).not.toEqual([]);
});

/**
 * Several objectives and constraints (src/strategies/strategy.ts: TrialResult.scores and violation,
 * StrategyArgs.feasible). Every strategy takes such results (a strategy that ranks by one score sees the infeasible
 * ones unscored); those the catalogue marks `multiObjective` also never propose what `feasible` refuses.
 */
const secondObjective = (space: SearchSpace, p: Proposal) => objective(space, { ...p.architecture, _second: 1 });

/** Results with two oriented scores; a fifth of them break a constraint (violation > 0, no primary score). */
function multiResult(p: Proposal, space: SearchSpace, trialId: string, rng: Rng): TrialResult {
  if (!isTrial(p)) return jobResult(p, space, trialId, rng.int(1000));
  const r = rng.next();
  if (r < 0.1) return { ...resultFor(p, trialId, null), scores: null };
  const scores = [objective(space, p.architecture), -secondObjective(space, p)];
  const violation = r < 0.3 ? rng.next() + 0.01 : 0;
  return { ...resultFor(p, trialId, violation > 0 ? null : scores[0]!), scores, violation };
}

async function driveMulti(strategy: Strategy, space: SearchSpace, rounds: number, perRound: number, orderSeed: number, prefix: string): Promise<Proposal[]> {
  const rng = new Rng(orderSeed);
  const all: Proposal[] = [];
  for (let r = 0; r < rounds; r++) {
    const proposals = await strategy.ask(perRound);
    const results = proposals.map((p, i) => multiResult(p, space, `${prefix}-${all.length + i}`, rng));
    all.push(...proposals);
    await strategy.tell(rng.shuffle(results));
  }
  return all;
}

describe.each(STRATEGY_TYPES)("strategy %s with several objectives and constraints (conformance)", (type) => {
  const config = { type };

  it.each(spaces.map((s) => [s.id, s] as const))("takes score vectors and violations in any order, stays valid and continues identically after a JSON round trip (%s)", async (_id, space) => {
    const a = createStrategy(config, space, 13);
    const first = await driveMulti(a, space, 6, 4, 9, "m");
    for (const p of first.filter(isTrial)) expect(space.validate(p.architecture)).toEqual([]);
    const b = createStrategy(config, space, 13, roundTrip(a.state()));
    expect(await driveMulti(b, space, 5, 4, 10, "n")).toEqual(await driveMulti(a, space, 5, 4, 10, "n"));
    expect(roundTrip(b.state())).toEqual(roundTrip(a.state()));
  });

  it.runIf(strategyEntry(type)?.multiObjective === true).each(spaces.map((s) => [s.id, s] as const))(
    "never proposes an architecture that breaks a constraint on costs known before training (%s)",
    async (_id, space) => {
      // About half of either space is refused.
      const feasible = (a: Architecture) => (space === nb201 ? a.node1_from0 !== "nor_conv_3x3" && a.node2_from0 !== "nor_conv_3x3" && a.node3_from0 !== "nor_conv_3x3" : Number(a.d_model) <= 32);
      const s = createStrategy(config, space, 19, null, { feasible });
      const proposals = await driveMulti(s, space, 10, 5, 11, "f");
      expect(proposals.filter(isTrial).length).toBeGreaterThan(30);
      for (const p of proposals.filter(isTrial)) expect(feasible(p.architecture), JSON.stringify(p.architecture)).toBe(true);
      // Recreated from its state with the same predicate, it goes on keeping it.
      const again = createStrategy(config, space, 19, roundTrip(s.state()), { feasible });
      for (const p of (await driveMulti(again, space, 3, 5, 12, "g")).filter(isTrial)) expect(feasible(p.architecture)).toBe(true);
    },
  );
});
