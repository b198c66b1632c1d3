/**
 * Every scheduler of the catalogue (src/catalogue/schedulers.ts, created by src/schedulers/registry.ts) must pass
 * this suite, the contract of src/schedulers/scheduler.ts: budgets ascending up to maxBudget, decisions that depend
 * only on the order of reports, an identical continuation after a JSON state round trip, retried reports answered
 * as before and not counted twice, pruned trials staying pruned, RangeError for a report it cannot take, StateError
 * for a state it cannot read, and reports of interleaved trials in any order.
 */
import { describe, expect, it } from "vitest";
import { StateError } from "../../src/core/errors.js";
import type { JsonValue } from "../../src/core/json.js";
import { Rng } from "../../src/core/rng.js";
import { createScheduler, schedulerConfigSchema, type SchedulerConfig } from "../../src/schedulers/registry.js";
import type { Scheduler, SchedulerDecision } from "../../src/schedulers/scheduler.js";
import { roundTrip, withField, wrongType } from "./helpers.js";

/** Every scheduler type the catalogue accepts: the discriminated union's options. */
const SCHEDULER_TYPES = schedulerConfigSchema.options.map((o) => o.shape.type.value);

/** Configurations of each type: rungs on a power of eta, a maxBudget off the ladder, a larger eta on steps. */
const SHAPES = [
  { minBudget: 1, maxBudget: 27, eta: 3 },
  { minBudget: 1, maxBudget: 30, eta: 3 },
  { minBudget: 100, maxBudget: 1600, eta: 2 },
  { minBudget: 0.5, maxBudget: 8, eta: 4 },
];

interface Report {
  trialId: string;
  budget: number;
  score: number;
}

/** A deterministic score of a trial at a budget: a per-trial level plus a curve that rises with the budget. */
function scoreOf(trialId: string, budget: number, maxBudget: number): number {
  let h = 2166136261;
  for (const ch of trialId) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  const level = (h >>> 0) / 2 ** 32;
  return level * 10 + 5 * Math.log1p(budget / maxBudget);
}

/** A call to a scheduler, as the orchestrator makes them: budgets when a trial is created, then its reports. */
type Call = { budgetsOf: string; budgets: number[] } | (Report & { decision: SchedulerDecision });

/**
 * Imitates asynchronous workers: `trials` trials start over time (asking their budgets then), and at each event a
 * random running trial reports at its next budget (sometimes between two budgets, as a trainer that reports more
 * often does). A trial stops when pruned or at its last budget. The order of calls is a function of `orderSeed`
 * and the decisions only. Returns the calls made, reports with their decisions.
 */
function run(scheduler: Scheduler, o: { trials: number; orderSeed: number; maxBudget: number; startAt?: number }, onReport?: (r: Report, d: SchedulerDecision) => void): Call[] {
  const rng = new Rng(o.orderSeed);
  const running: Array<{ id: string; next: number; budgets: number[] }> = [];
  const calls: Call[] = [];
  let started = 0;
  while (started < o.trials || running.length > 0) {
    if (started < o.trials && (running.length < 4 || rng.next() < 0.3)) {
      const id = `t${(o.startAt ?? 0) + started++}`;
      const budgets = scheduler.budgets(id);
      calls.push({ budgetsOf: id, budgets });
      running.push({ id, next: 0, budgets });
      continue;
    }
    const k = rng.int(running.length);
    const t = running[k]!;
    const target = t.budgets[t.next]!;
    // Now and then an intermediate report below the next budget.
    const previous = t.next > 0 ? t.budgets[t.next - 1]! : 0;
    const between = rng.next() < 0.2 && target - previous > 1e-9;
    const budget = between ? previous + (target - previous) / 2 : target;
    const r = { trialId: t.id, budget, score: scoreOf(t.id, budget, o.maxBudget) };
    const decision = scheduler.report(r.trialId, r.budget, r.score);
    onReport?.(r, decision);
    calls.push({ ...r, decision });
    if (!between) t.next += 1;
    if (decision === "prune" || t.next >= t.budgets.length) running.splice(k, 1);
  }
  return calls;
}

const reportsOf = (calls: Call[]) => calls.filter((c): c is Report & { decision: SchedulerDecision } => "trialId" in c);

const cases = SCHEDULER_TYPES.flatMap((type) => SHAPES.map((shape) => ({ type, ...shape }) as SchedulerConfig));

it("the suite covers every scheduler type of the catalogue", () => {
  expect(SCHEDULER_TYPES.length).toBeGreaterThan(0);
  expect(new Set(cases.map((c) => c.type))).toEqual(new Set(SCHEDULER_TYPES));
});

describe.each(cases.map((c) => [`${c.type} ${c.minBudget}..${c.maxBudget} eta ${c.eta}`, c] as const))("scheduler %s (conformance)", (_name, config) => {
  const { maxBudget, minBudget } = config;

  it("gives every trial ascending positive budgets that end at maxBudget, the same every time it is asked", () => {
    const s = createScheduler(config);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const budgets = s.budgets(`t${i}`);
      expect(budgets.length).toBeGreaterThan(0);
      for (const b of budgets) expect(Number.isFinite(b) && b > 0).toBe(true);
      for (let k = 1; k < budgets.length; k++) expect(budgets[k]!).toBeGreaterThan(budgets[k - 1]!);
      expect(budgets.at(-1)).toBe(maxBudget);
      expect(budgets[0]!).toBeGreaterThanOrEqual(minBudget);
      expect(s.budgets(`t${i}`)).toEqual(budgets);
      seen.add(budgets.join());
    }
    // Budgets survive a state round trip.
    const restored = createScheduler(config, roundTrip(s.state()));
    for (let i = 0; i < 60; i++) expect(restored.budgets(`t${i}`)).toEqual(s.budgets(`t${i}`));
    expect(seen.size).toBeGreaterThan(0);
  });

  it("decides the same for the same reports in the same order, and prunes some trials but not all", () => {
    const a = run(createScheduler(config), { trials: 80, orderSeed: 1, maxBudget });
    const b = run(createScheduler(config), { trials: 80, orderSeed: 1, maxBudget });
    expect(b).toEqual(a);
    const finals = new Map<string, SchedulerDecision>();
    for (const r of reportsOf(a)) if (r.decision === "prune" || r.budget === maxBudget) finals.set(r.trialId, r.decision);
    const decisions = [...finals.values()];
    expect(decisions.filter((d) => d === "continue").length, "trials that reach maxBudget").toBeGreaterThan(0);
    // Every configuration here has rungs below maxBudget: some of 80 trials are pruned.
    expect(decisions.filter((d) => d === "prune").length, "pruned trials").toBeGreaterThan(0);
  });

  it("continues identically after a JSON state round trip mid-run, and at every report", () => {
    const a = createScheduler(config);
    let b = createScheduler(config);
    const first = run(a, { trials: 40, orderSeed: 2, maxBudget });
    // b gets the same calls, recreated from its JSON state before each one.
    for (const call of first) {
      b = createScheduler(config, roundTrip(b.state()));
      if ("budgetsOf" in call) expect(b.budgets(call.budgetsOf)).toEqual(call.budgets);
      else expect(b.report(call.trialId, call.budget, call.score), `${call.trialId}@${call.budget}`).toBe(call.decision);
    }
    expect(roundTrip(b.state())).toEqual(roundTrip(a.state()));
    // Mid-run: a copy restored from a's state continues like a, new trials and all.
    const c = createScheduler(config, roundTrip(a.state()));
    const restA = run(a, { trials: 40, orderSeed: 3, maxBudget, startAt: 40 });
    const restC = run(c, { trials: 40, orderSeed: 3, maxBudget, startAt: 40 });
    expect(restC).toEqual(restA);
    expect(roundTrip(c.state())).toEqual(roundTrip(a.state()));
  });

  it("answers a repeated report for a rung already decided as before, and does not count it twice", () => {
    const s = createScheduler(config);
    const decided: Array<Report & { decision: SchedulerDecision }> = [];
    run(s, { trials: 50, orderSeed: 4, maxBudget }, (r, decision) => {
      decided.push({ ...r, decision });
      // A retried job repeats the report at once, with the same score or (another attempt) another.
      const before = JSON.stringify(s.state());
      expect(s.report(r.trialId, r.budget, r.score)).toBe(decision);
      expect(s.report(r.trialId, r.budget, r.score + 1000)).toBe(decision);
      expect(JSON.stringify(s.state())).toBe(before);
    });
    // Later, after other trials have filled the rungs: a retried job that trains again from the start repeats every
    // report up to where it was; each is answered as it was then (a trial pruned since is answered `prune`).
    const before = JSON.stringify(s.state());
    const byTrial = new Map<string, typeof decided>();
    for (const r of decided) byTrial.set(r.trialId, [...(byTrial.get(r.trialId) ?? []), r]);
    for (const reports of byTrial.values()) {
      const pruned = reports.some((r) => r.decision === "prune");
      for (const r of reports) expect(s.report(r.trialId, r.budget, r.score), `${r.trialId}@${r.budget}`).toBe(pruned ? "prune" : r.decision);
    }
    expect(JSON.stringify(s.state())).toBe(before);
  });

  it("answers every later report of a pruned trial with prune, whatever its score", () => {
    const s = createScheduler(config);
    const pruned = reportsOf(run(s, { trials: 60, orderSeed: 5, maxBudget })).filter((r) => r.decision === "prune");
    const before = JSON.stringify(s.state());
    for (const r of pruned) {
      const budgets = s.budgets(r.trialId);
      for (const b of budgets.filter((b) => b >= r.budget)) expect(s.report(r.trialId, b, 1e9)).toBe("prune");
    }
    expect(JSON.stringify(s.state())).toBe(before);
    expect(pruned.length).toBeGreaterThan(0);
  });

  it("throws RangeError for a score that is not finite or a budget that is not positive and finite", () => {
    const s = createScheduler(config);
    run(s, { trials: 10, orderSeed: 6, maxBudget });
    for (const id of ["t0", "t3", "fresh"]) {
      for (const score of [NaN, Infinity, -Infinity]) expect(() => s.report(id, minBudget, score), `score ${score}`).toThrow(RangeError);
      for (const budget of [0, -1, -minBudget, NaN, Infinity, -Infinity]) expect(() => s.report(id, budget, 1), `budget ${budget}`).toThrow(RangeError);
    }
    // Still usable afterwards.
    expect(["continue", "prune"]).toContain(s.report("after", minBudget, 1));
  });

  it("leaves its state unchanged by a report it rejects, for a trial it knows", () => {
    const s = createScheduler(config);
    const log = reportsOf(run(s, { trials: 10, orderSeed: 6, maxBudget }));
    const before = JSON.stringify(s.state());
    for (const id of new Set(log.map((r) => r.trialId))) {
      expect(() => s.report(id, maxBudget, NaN)).toThrow(RangeError);
      expect(() => s.report(id, -1, 1)).toThrow(RangeError);
    }
    expect(JSON.stringify(s.state())).toBe(before);
  });

  it("refuses a state it cannot read, or one of another configuration, with a StateError naming the bad field", () => {
    const s = createScheduler(config);
    run(s, { trials: 20, orderSeed: 7, maxBudget });
    const good = roundTrip(s.state());
    expect(() => createScheduler(config, good)).not.toThrow();
    for (const bad of [{}, "garbage", 42, true, [], [good]] as JsonValue[]) {
      expect(() => createScheduler(config, bad), JSON.stringify(bad).slice(0, 40)).toThrow(StateError);
    }
    if (typeof good === "object" && good !== null && !Array.isArray(good)) {
      for (const field of Object.keys(good)) {
        let err: unknown;
        try {
          createScheduler(config, withField(good, field, wrongType(good[field]!)));
        } catch (e) {
          err = e;
        }
        expect(err, field).toBeInstanceOf(StateError);
        expect((err as Error).message).toMatch(new RegExp(`\\b${field}\\b`));
      }
    }
    // The state of a scheduler with a longer ladder does not fit this one.
    const other = createScheduler({ ...config, maxBudget: maxBudget * config.eta ** 3 });
    run(other, { trials: 5, orderSeed: 8, maxBudget: maxBudget * config.eta ** 3 });
    expect(() => createScheduler(config, roundTrip(other.state()))).toThrow(StateError);
  });

  it("takes reports of interleaved trials in any order: later rungs first, rungs skipped, reports between rungs", () => {
    const s = createScheduler(config);
    const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const rng = new Rng(9);
    // Every trial's reports (its budgets and some points between them), then all of them shuffled across trials,
    // each trial's own reports kept in budget order (its budget is cumulative).
    const queues = ids.map((id) => {
      const budgets = s.budgets(id);
      const points = budgets.flatMap((b, k) => (k > 0 && rng.next() < 0.5 ? [(budgets[k - 1]! + b) / 2, b] : [b]));
      // Some trials skip rungs: their trainer reports only every other budget.
      return rng.next() < 0.3 ? points.filter((_, k) => k % 2 === 1 || k === points.length - 1) : points;
    });
    const done = new Set<number>();
    while (done.size < ids.length) {
      const k = rng.int(ids.length);
      const q = queues[k]!;
      if (q.length === 0) {
        done.add(k);
        continue;
      }
      const budget = q.shift()!;
      const decision = s.report(ids[k]!, budget, rng.next() * 100);
      expect(["continue", "prune"]).toContain(decision);
      if (decision === "prune") queues[k] = [];
    }
    // A trial's first report at maxBudget, and a late trial after everyone else finished, are taken too.
    expect(["continue", "prune"]).toContain(s.report("late-full", maxBudget, 50));
    for (const b of s.budgets("late")) expect(["continue", "prune"]).toContain(s.report("late", b, 50));
    expect(() => createScheduler(config, roundTrip(s.state()))).not.toThrow();
  });
});
