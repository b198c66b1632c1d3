/**
 * Strategy benchmark on a tabular NAS benchmark (NAS-Bench-201 CIFAR-10 by default): for each strategy, many
 * seeded searches; prints mean ± std of the best objective found after 25, 50, 100, 200 trials and the fraction of
 * searches that found the table's best value.
 *
 *   npx tsx benchmarks/strategies.ts [--table PATH] [--seeds N] [--trials 25,50,100,200]
 *                                    [--strategies random,evolution,reinforce,evolution+asha] [--workers 8]
 *                                    [--state-every K] [--asha-noise 2] [--options JSON] [--json]
 *
 * How a search is driven: in process, but through the orchestrator's code path. On every advance the strategy is
 * created with `createStrategy(config, space, seed, state)` from the last stored state after a JSON round trip
 * (`--state-every K` does that only every K advances, default 1 = always; the scheduler's state makes the same round
 * trip every `--scheduler-state-every` reports, default 20), told the trials that finished, asked to
 * refill the free workers, and its state stored again. `--workers` trials (default 8) are in flight; each takes a
 * random time (uniform 0.5–1.5 × its budget), so results come back in a shuffled order, as from asynchronous workers.
 *
 * `<strategy>+asha` runs the strategy under the ASHA scheduler (src/schedulers/asha.ts) with minBudget 1,
 * maxBudget 27, eta 3 (rungs 1, 3, 9, then 27), at the same total training budget: "after N trials" means after
 * N × 27 budget units have been spent (the budget N plain trials use), and the best is the best trial that trained
 * to the full budget, whose observed score is its table value. The table has only final accuracies, so the
 * learning curve is simulated with a fixed model, documented here because the result depends on it:
 *   observed(arch, b) = final(arch) + σ(b) · z_arch,  σ(b) = σ0 · (1 − ln(b/minBudget) / ln(maxBudget/minBudget)),
 * with z_arch ~ N(0, 1) fixed per architecture and seed (so an architecture's curve is one smooth curve, and a
 * wrongly ranked architecture stays wrongly ranked at every low budget, as a slow starter would) and σ0 =
 * `--asha-noise` accuracy points (default 2). At the full budget the observation is exact. Real learning curves
 * can rank architectures worse than this at low budget; the table cannot tell.
 *
 * `--options '{"populationSize": 10}'` overrides strategy options (for tuning); the defaults are what ships.
 *
 * `--objectives test_accuracy,flops` (or `,params`): a two-objective benchmark. Each cell's FLOPs and parameters
 * are computed from its operations (src/spaces/nasbench201-cost.ts); accuracy is maximised, costs minimised. The
 * true Pareto front is that of all 15,625 cells of the table; a search's result is the hypervolume of the front of
 * the trials it completed divided by the true front's, against one reference point for every run: the true front's
 * nadir (its worst value of each objective) moved 10 % of the front's range further (REFERENCE_MARGIN), so that every
 * point of the true front adds volume. Reported: the mean ± std of that ratio after N trials (default 100, 200;
 * strategies random, evolution), strategies told every objective's score (TrialResult.scores), as the orchestrator
 * does for a search with a list of objectives. With `--json` the last line is
 * {"<strategy>": {"<trials>": {"hypervolumeRatio": mean, "std": …}}}.
 *
 * Nothing here is known to the strategies: they see architectures and scores only.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../src/config.js";
import { createHash } from "node:crypto";
import { nb201FromString } from "../src/spaces/nasbench201.js";
import { Rng } from "../src/core/rng.js";
import { SearchSpace } from "../src/spaces/space.js";
import type { Architecture } from "../src/spaces/definition.js";
import { strategyEntry } from "../src/catalogue/strategies.js";
import { createStrategy } from "../src/strategies/registry.js";
import type { JsonValue, Strategy, TrialResult } from "../src/strategies/strategy.js";
import { createScheduler } from "../src/schedulers/registry.js";
import { hypervolume, paretoFront } from "../src/core/pareto.js";
import { REFERENCE_MARGIN } from "../src/catalogue/objectives.js";
import { nb201Cost } from "../src/spaces/nasbench201-cost.js";
import type { Scheduler } from "../src/schedulers/scheduler.js";

interface Args {
  table: string;
  seeds: number;
  trials: number[];
  strategies: string[];
  workers: number;
  stateEvery: number;
  schedulerStateEvery: number;
  ashaNoise: number;
  json: boolean;
  /** Extra options for every strategy of the run (for tuning), e.g. {"populationSize": 10}. */
  options: Record<string, unknown>;
  /** Multi-objective run: the metrics (test_accuracy and costs of the cell), in order. */
  objectives: string[] | null;
}

/** The directions of the metrics a multi-objective run may name. */
const DIRECTIONS: Record<string, "maximize" | "minimize"> = { test_accuracy: "maximize", flops: "minimize", params: "minimize" };

function parseArgs(argv: string[]): Args {
  const config = loadConfig();
  const args: Args = {
    table: config.NASBENCH201_CSV,
    seeds: 100,
    trials: [25, 50, 100, 200],
    strategies: ["random", "evolution", "reinforce", "evolution+asha"],
    workers: 8,
    stateEvery: 1,
    schedulerStateEvery: 20,
    ashaNoise: 2,
    json: false,
    options: {},
    objectives: null,
  };
  let trialsGiven = false;
  let strategiesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positiveInt = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${v}'`);
      return n;
    };
    switch (flag) {
      case "--table": args.table = path.resolve(value()); break;
      case "--seeds": args.seeds = positiveInt(value()); break;
      case "--trials": args.trials = value().split(",").map(positiveInt).sort((a, b) => a - b); trialsGiven = true; break;
      case "--strategies": args.strategies = value().split(",").map((s) => s.trim()).filter(Boolean); strategiesGiven = true; break;
      case "--objectives": {
        args.objectives = value().split(",").map((s) => s.trim());
        const unknown = args.objectives.find((m) => !DIRECTIONS[m]);
        if (unknown || args.objectives.length < 2) throw new Error(`--objectives: two or more of ${Object.keys(DIRECTIONS).join(", ")}${unknown ? `, not '${unknown}'` : ""}`);
        break;
      }
      case "--workers": args.workers = positiveInt(value()); break;
      case "--state-every": args.stateEvery = positiveInt(value()); break;
      case "--scheduler-state-every": args.schedulerStateEvery = positiveInt(value()); break;
      case "--asha-noise": args.ashaNoise = Number(value()); break;
      case "--json": args.json = true; break;
      case "--options": args.options = JSON.parse(value()) as Record<string, unknown>; break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (args.objectives) {
    if (!trialsGiven) args.trials = [100, 200];
    if (!strategiesGiven) args.strategies = ["random", "evolution"];
    if (args.strategies.some((s) => s.includes("+"))) throw new Error("--objectives: no scheduler (+asha) in a multi-objective run");
  }
  return args;
}

/** The table as architecture hash → objective. */
function loadTable(file: string, space: SearchSpace): { values: Map<string, number>; best: number } {
  const values = new Map<string, number>();
  const lines = readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim());
  for (const line of lines.slice(1)) {
    const [, arch, value] = line.split(",");
    const a = nb201FromString(arch ?? "");
    const v = Number(value);
    if (!a || !Number.isFinite(v)) throw new Error(`${file}: bad line '${line}'`);
    values.set(space.hash(a), v);
  }
  if (values.size === 0) throw new Error(`${file}: no rows`);
  return { values, best: Math.max(...values.values()) };
}

/** The orchestrator's way of keeping a strategy: recreated from stored JSON state on every advance. */
class StoredStrategy {
  private stored: JsonValue | null = null;
  private live: Strategy | undefined;
  private advances = 0;

  constructor(
    private readonly config: { type: string } & Record<string, unknown>,
    private readonly space: SearchSpace,
    private readonly seed: number,
    private readonly every: number,
  ) {}

  async advance(finished: TrialResult[], free: number) {
    if (!this.live || this.advances % this.every === 0) {
      this.live = createStrategy(this.config, this.space, this.seed, this.stored === null ? null : (JSON.parse(JSON.stringify(this.stored)) as JsonValue));
    }
    this.advances++;
    if (finished.length) await this.live.tell(finished);
    const proposals = free > 0 ? await this.live.ask(free) : [];
    this.stored = this.live.state();
    return proposals;
  }
}

/**
 * Same, for the scheduler, every `every` reports: its state holds a record per trial, and with ASHA's thousands of
 * short trials a round trip on every report makes a run quadratic (minutes per seed).
 */
class StoredScheduler {
  private live: Scheduler | undefined;
  private reports = 0;

  constructor(
    private readonly config: { type: "asha"; minBudget: number; maxBudget: number; eta: number },
    private readonly every: number,
  ) {}

  report(trialId: string, budget: number, score: number) {
    if (!this.live) this.live = createScheduler(this.config);
    else if (this.reports % this.every === 0) this.live = createScheduler(this.config, JSON.parse(JSON.stringify(this.live.state())) as JsonValue);
    this.reports++;
    return this.live.report(trialId, budget, score);
  }
}

interface Trial {
  id: string;
  architecture: Architecture;
  parentId: string | null;
  value: number;
  budget: number;
  nextBudget: number;
  finishAt: number;
}

const ASHA = { type: "asha" as const, minBudget: 1, maxBudget: 27, eta: 3 };

/** Oriented scores (higher is better) of every objective of a multi-objective run, by architecture hash. */
type Scores = Map<string, number[]>;

/**
 * One search; returns the best value found after each checkpoint of `args.trials` (in trials' worth of budget) and,
 * given `scores` (a multi-objective run), the score vectors of the trials completed by each checkpoint.
 */
async function runSearch(name: string, seed: number, space: SearchSpace, table: Map<string, number>, args: Args, scores?: Scores): Promise<{ best: number[]; fronts: number[][][] }> {
  const [type, schedulerType] = name.split("+") as [string, string | undefined];
  if (schedulerType !== undefined && schedulerType !== "asha") throw new Error(`unknown scheduler '${schedulerType}' in '${name}'`);
  const strategy = new StoredStrategy({ ...args.options, type }, space, seed, args.stateEvery);
  const scheduler = schedulerType ? new StoredScheduler(ASHA, args.schedulerStateEvery) : undefined;
  const fullBudget = scheduler ? ASHA.maxBudget : 1;
  const budgets = scheduler ? [1, 3, 9, 27] : [1];
  const sim = new Rng(seed + 1_000_003);
  const maxTrials = args.trials[args.trials.length - 1]!;
  const totalBudget = maxTrials * fullBudget;

  const checkpoints = args.trials.map(() => -Infinity);
  const completedAt = args.trials.map(() => 0);
  const completed: number[][] = [];
  let spent = 0;
  let best = -Infinity;
  let clock = 0;
  let started = 0;
  const inflight: Trial[] = [];
  const offsets = new Map<string, number>();
  const value = (a: Architecture) => {
    const v = table.get(space.hash(a));
    if (v === undefined) throw new Error(`architecture not in the table: ${JSON.stringify(a)}`);
    return v;
  };
  /** z_arch of the learning-curve model: fixed per architecture and seed. */
  const offset = (a: Architecture) => {
    const h = space.hash(a);
    let z = offsets.get(h);
    if (z === undefined) {
      const r = new Rng(createHash("sha256").update(`${seed}:${h}`).digest().readUInt32LE(0));
      offsets.set(h, (z = r.normal()));
    }
    return z;
  };
  const observed = (t: Trial, b: number) => {
    const frac = b >= ASHA.maxBudget ? 1 : Math.log(b / ASHA.minBudget) / Math.log(ASHA.maxBudget / ASHA.minBudget);
    return t.value + args.ashaNoise * (1 - frac) * offset(t.architecture);
  };
  const schedule = (t: Trial) => {
    t.finishAt = clock + (t.nextBudget - t.budget) * (0.5 + sim.next());
  };

  let finished: TrialResult[] = [];
  for (;;) {
    // An advance: tell what finished, refill the free workers while there is budget left.
    const free = spent < totalBudget && (scheduler || started < maxTrials) ? args.workers - inflight.length : 0;
    const proposals = await strategy.advance(finished, free);
    finished = [];
    for (const p of proposals) {
      const t: Trial = { id: `t${started++}`, architecture: p.architecture, parentId: p.parentId ?? null, value: value(p.architecture), budget: 0, nextBudget: budgets[0]!, finishAt: 0 };
      schedule(t);
      inflight.push(t);
    }
    if (inflight.length === 0) break;
    // The next job segment to finish (a whole trial, or a trial up to its next rung).
    let i = 0;
    for (let j = 1; j < inflight.length; j++) if (inflight[j]!.finishAt < inflight[i]!.finishAt) i = j;
    const t = inflight[i]!;
    clock = t.finishAt;
    spent += t.nextBudget - t.budget;
    t.budget = t.nextBudget;
    if (spent > totalBudget) break;
    let done: "completed" | "pruned" | undefined;
    let score = t.value;
    if (!scheduler) done = "completed";
    else {
      score = observed(t, t.budget);
      const decision = scheduler.report(t.id, t.budget, score);
      if (t.budget >= ASHA.maxBudget) done = "completed";
      else if (decision === "prune") done = "pruned";
      else {
        t.nextBudget = budgets[budgets.indexOf(t.budget) + 1]!;
        schedule(t);
      }
    }
    if (done) {
      inflight.splice(i, 1);
      if (done === "completed") best = Math.max(best, t.value);
      const vector = scores?.get(space.hash(t.architecture));
      if (vector && done === "completed") completed.push(vector);
      // Several objectives: every oriented score, as the orchestrator tells them (TrialResult.scores).
      finished.push({ trialId: t.id, architecture: t.architecture, status: done, objective: score, score, metrics: { budget: t.budget }, parentId: t.parentId, ...(vector ? { scores: vector } : {}) });
    }
    args.trials.forEach((n, k) => {
      if (spent <= n * fullBudget) {
        checkpoints[k] = best;
        completedAt[k] = completed.length;
      }
    });
  }
  return { best: checkpoints, fronts: completedAt.map((n) => completed.slice(0, n)) };
}

function stats(xs: number[]) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std };
}

/**
 * The multi-objective benchmark: the true front of the whole table, then per strategy and seed the hypervolume of
 * the completed trials' front over the true front's, against the true front's nadir moved REFERENCE_MARGIN further.
 */
async function mainMultiObjective(args: Args, space: SearchSpace, accuracy: Map<string, number>, log: (s: string) => void) {
  const objectives = args.objectives!;
  const scores: Scores = new Map();
  const lines = readFileSync(args.table, "utf8").split(/\r?\n/).filter((l) => l.trim()).slice(1);
  for (const line of lines) {
    const arch = nb201FromString(line.split(",")[1]!)!;
    const hash = space.hash(arch);
    const cost = nb201Cost(arch);
    const raw: Record<string, number> = { test_accuracy: accuracy.get(hash)!, flops: cost.flops, params: cost.params };
    scores.set(hash, objectives.map((m) => (DIRECTIONS[m] === "maximize" ? raw[m]! : -raw[m]!)));
  }
  const all = [...scores.values()];
  const front = paretoFront(all.map((s) => ({ scores: s }))).map((i) => all[i]!);
  const reference = objectives.map((_, d) => {
    const xs = front.map((p) => p[d]!);
    const lo = Math.min(...xs);
    return lo - REFERENCE_MARGIN * (Math.max(...xs) - lo || 1);
  });
  const trueVolume = hypervolume(front, reference);
  const shown = (d: number, v: number) => (DIRECTIONS[objectives[d]!] === "maximize" ? v : -v);
  log(
    `table ${args.table}: ${all.length} architectures; objectives ${objectives.map((m) => `${m} (${DIRECTIONS[m]})`).join(", ")}; true front ${front.length} points, ` +
      `reference point (${reference.map((r, d) => shown(d, r).toPrecision(6)).join(", ")}), hypervolume ${trueVolume.toPrecision(6)}; ${args.seeds} seeds, ${args.workers} in flight`,
  );
  const results: Record<string, Record<string, { hypervolumeRatio: number; std: number }>> = {};
  log(["strategy".padEnd(18), ...args.trials.map((n) => `${n} trials`.padEnd(22)), "seconds"].join(""));
  for (const name of args.strategies) {
    const t0 = performance.now();
    const ratios: number[][] = args.trials.map(() => []);
    for (let seed = 0; seed < args.seeds; seed++) {
      const { fronts } = await runSearch(name, seed, space, accuracy, args, scores);
      fronts.forEach((found, k) => ratios[k]!.push(hypervolume(found, reference) / trueVolume));
    }
    results[name] = {};
    const cells = args.trials.map((n, k) => {
      const { mean, std } = stats(ratios[k]!);
      results[name]![String(n)] = { hypervolumeRatio: round(mean), std: round(std) };
      return `${mean.toFixed(4)} ± ${std.toFixed(4)}`.padEnd(22);
    });
    log([name.padEnd(18), ...cells, ((performance.now() - t0) / 1000).toFixed(1)].join(""));
  }
  if (args.json) console.log(JSON.stringify(results));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const name of args.strategies) {
    const [type, scheduler] = name.split("+");
    if (!strategyEntry(type!)) throw new Error(`unknown strategy '${type}' in --strategies`);
    if (scheduler !== undefined && scheduler !== "asha") throw new Error(`unknown scheduler '${scheduler}' in --strategies (only asha)`);
  }
  const config = loadConfig();
  const space = new SearchSpace(JSON.parse(readFileSync(path.join(config.SEARCH_SPACES_DIR, "nasbench201.json"), "utf8")));
  const { values, best } = loadTable(args.table, space);
  const log = (s: string) => (args.json ? process.stderr : process.stdout).write(s + "\n");
  if (args.objectives) return mainMultiObjective(args, space, values, log);
  log(
    `table ${args.table}: ${values.size} architectures, best ${best}; ${args.seeds} seeds, ${args.workers} in flight; ` +
      `state JSON round trip every ${args.stateEvery} advance(s), scheduler's every ${args.schedulerStateEvery} report(s); ASHA noise σ0 = ${args.ashaNoise}`,
  );
  const results: Record<string, Record<string, { mean: number; std: number; optimumRate: number }>> = {};
  log(["strategy".padEnd(18), ...args.trials.map((n) => `${n} trials`.padEnd(26)), "seconds"].join(""));
  for (const name of args.strategies) {
    const t0 = performance.now();
    const runs: number[][] = [];
    for (let seed = 0; seed < args.seeds; seed++) runs.push((await runSearch(name, seed, space, values, args)).best);
    results[name] = {};
    const cells = args.trials.map((n, k) => {
      const xs = runs.map((r) => r[k]!);
      const { mean, std } = stats(xs);
      const optimumRate = xs.filter((x) => x >= best - 1e-9).length / xs.length;
      results[name]![String(n)] = { mean: round(mean), std: round(std), optimumRate };
      return `${mean.toFixed(2)} ± ${std.toFixed(2)} (${(optimumRate * 100).toFixed(0)}%)`.padEnd(26);
    });
    log([name.padEnd(18), ...cells, ((performance.now() - t0) / 1000).toFixed(1)].join(""));
  }
  if (args.json) console.log(JSON.stringify(results));
}

function round(x: number) {
  return Math.round(x * 1e4) / 1e4;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
