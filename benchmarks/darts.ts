/**
 * DARTS against random search and regularized evolution on `transformer-lm` with character language modelling on
 * Moby-Dick, at an equal total training budget. Prints the best validation bits per character that each found
 * (always a retrained architecture, never a supernet score) and the time each took.
 *
 *   npx tsx benchmarks/darts.ts [--supernet-steps 100] [--trial-steps 150] [--lr 3e-3] [--order 1] [--derive-top 2]
 *                               [--batch 8] [--context 32] [--eval-sequences 32] [--seed 1]
 *                               [--strategies darts,random,evolution] [--space full|base]
 *                               [--population 6] [--tournament 3] [--base JSON] [--darts JSON] [--json]
 *
 * The budget is counted in steps × parameters (a proxy for training FLOPs that does not depend on the load of a
 * shared machine; wall time is printed beside it):
 *   - a trial of `--trial-steps` steps of an architecture with P weights costs trial-steps · P;
 *   - the supernet costs, per iteration, its weight count P_s for the weight step plus P_s for a first-order α
 *     step (one forward and backward on a validation batch), or 4 · P_s for a second-order one (the virtual step,
 *     the validation gradient and the two finite-difference gradients); warm-up iterations cost P_s.
 * DARTS runs first: its supernet, then its derived architectures (the argmax and `--derive-top` alternatives)
 * retrained from scratch with runTransformerTrial, as the service's `train` evaluator would. Its total becomes
 * the budget of the other strategies, which then propose one architecture at a time (createStrategy, ask/tell, in
 * process) and train each with the same runTransformerTrial and `--trial-steps`, until the budget is spent: a
 * trial that does not fit in what is left trains for the steps that do (the notes say so), and the search ends
 * when less than a tenth of a trial fits.
 *
 * `--strategies` may also name `darts2`: second-order DARTS as an extra row (the budget still comes from `darts`,
 * the first-order run, which must come first). `--lr` is the peak learning rate of every retrained or sampled trial.
 *
 * `--space full` (default) lets random search and evolution search the whole space (depth, width, heads, …), which
 * DARTS cannot relax: its base architecture (`--base`, default the job's DEFAULT_BASE) fixes those. `--space base`
 * restricts them to the same base, so all three search only the per-layer attention kind and activation.
 */
import { readFileSync } from "node:fs";
import { DEFAULT_BASE, dartsOptions } from "../src/catalogue/strategies.js";
import { runSupernetJob } from "../src/evaluators/supernet.js";
import { runTransformerTrial } from "../src/evaluators/train-transformer.js";
import type { EvaluationContext } from "../src/evaluators/evaluator.js";
import { initBackend } from "../src/models/backend.js";
import { parameterCount, parseArchitecture } from "../src/models/transformer/index.js";
import type { Architecture } from "../src/spaces/definition.js";
import { SearchSpace } from "../src/spaces/space.js";
import { createStrategy } from "../src/strategies/registry.js";
import type { TrialResult } from "../src/strategies/strategy.js";
import { charLMTask } from "../src/tasks/charlm.js";

interface Args {
  supernetSteps: number;
  trialSteps: number;
  lr: number;
  order: 1 | 2;
  deriveTop: number;
  batch: number;
  context: number;
  evalSequences: number;
  seed: number;
  strategies: string[];
  space: "full" | "base";
  population: number;
  tournament: number;
  base: Record<string, unknown>;
  darts: Record<string, unknown>;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    supernetSteps: 100,
    trialSteps: 150,
    lr: 3e-3,
    order: 1,
    deriveTop: 2,
    batch: 8,
    context: 32,
    evalSequences: 32,
    seed: 1,
    strategies: ["darts", "random", "evolution"],
    space: "full",
    population: 6,
    tournament: 3,
    base: { ...DEFAULT_BASE },
    darts: {},
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (min: number) => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got '${v}'`);
      return n;
    };
    switch (flag) {
      case "--supernet-steps": args.supernetSteps = int(1); break;
      case "--trial-steps": args.trialSteps = int(1); break;
      case "--lr": { args.lr = Number(value()); if (!(args.lr > 0 && args.lr <= 1)) throw new Error("--lr: a number in (0, 1]"); break; }
      case "--order": { const o = int(1); if (o !== 1 && o !== 2) throw new Error("--order: 1 or 2"); args.order = o; break; }
      case "--derive-top": args.deriveTop = int(0); break;
      case "--batch": args.batch = int(1); break;
      case "--context": args.context = int(4); break;
      case "--eval-sequences": args.evalSequences = int(1); break;
      case "--seed": args.seed = int(0); break;
      case "--strategies": args.strategies = value().split(",").map((s) => s.trim()).filter(Boolean); break;
      case "--space": { const s = value(); if (s !== "full" && s !== "base") throw new Error("--space: full or base"); args.space = s; break; }
      case "--population": args.population = int(2); break;
      case "--tournament": args.tournament = int(1); break;
      case "--base": args.base = JSON.parse(value()) as Record<string, unknown>; break;
      case "--darts": args.darts = JSON.parse(value()) as Record<string, unknown>; break;
      case "--json": args.json = true; break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return args;
}

interface Row {
  strategy: string;
  bestBpc: number;
  bestArchitecture: Architecture | undefined;
  trials: number;
  /** Steps × parameters spent, in millions. */
  budget: number;
  seconds: number;
  notes: string;
}

const args = parseArgs(process.argv.slice(2));
const backend = await initBackend();
const fullSpace = new SearchSpace(JSON.parse(readFileSync(new URL("../search-spaces/transformer-lm.json", import.meta.url), "utf8")));
const task = charLMTask();
const dims = { vocabSize: task.vocabSize, contextLength: args.context };
const train = { task: "charlm-moby-dick", budget: { steps: args.trialSteps }, learningRate: args.lr, batchSize: args.batch, contextLength: args.context, evalSequences: args.evalSequences, sampleLength: 0 };
const quiet: EvaluationContext = { reportProgress: () => {}, shouldStop: () => false, log: () => {} };

/** The space with every global decision pinned to the base's value (for `--space base`). */
function restrictToBase(space: SearchSpace, base: Record<string, unknown>): SearchSpace {
  const def = structuredClone(space.definition);
  def.decisions = def.decisions.map((d) => {
    if (d.type === "repeat" || !(d.name in base)) return d;
    const v = base[d.name] as number | string;
    return d.type === "integer" ? { ...d, min: v as number, max: v as number } : { ...d, values: [v] };
  });
  return new SearchSpace({ ...def, id: `${space.id}-base` });
}

async function trainOne(space: SearchSpace, architecture: Architecture, seed: number, steps = args.trialSteps): Promise<{ bpc: number; cost: number }> {
  const result = await runTransformerTrial(
    {
      trialId: `bench-${seed}`,
      searchId: "bench",
      attempt: 1,
      space,
      architecture,
      config: { ...train, budget: { steps } },
      objective: { metric: "val_bpc", direction: "minimize" },
      seed,
    },
    quiet,
  );
  return { bpc: result.metrics.val_bpc as number, cost: steps * parameterCount(parseArchitecture(architecture), dims) };
}

async function runDarts(order: 1 | 2): Promise<Row> {
  const started = performance.now();
  const darts = dartsOptions.parse({ order, supernetSteps: args.supernetSteps, deriveTop: args.deriveTop, baseArchitecture: args.base, ...args.darts });
  const job = await runSupernetJob({ space: fullSpace, darts, train, seed: args.seed }, { reportProgress: () => {}, reportAlphas: () => {}, shouldStop: () => false, log: () => {} });
  const warmup = Math.min(job.steps, darts.warmupSteps ?? Math.floor(darts.supernetSteps / 4));
  let cost = job.supernetParams * (job.steps + (job.steps - warmup) * (order === 2 ? 4 : 1));
  const supernetSeconds = (performance.now() - started) / 1000;
  let best = { bpc: Infinity, arch: undefined as Architecture | undefined };
  const scores: string[] = [];
  for (const [i, arch] of job.derived.entries()) {
    const r = await trainOne(fullSpace, arch, args.seed + i);
    cost += r.cost;
    scores.push(r.bpc.toFixed(3));
    if (r.bpc < best.bpc) best = { bpc: r.bpc, arch };
  }
  return {
    strategy: `darts (order ${order})`,
    bestBpc: best.bpc,
    bestArchitecture: best.arch,
    trials: job.derived.length,
    budget: cost / 1e6,
    seconds: (performance.now() - started) / 1000,
    notes: `supernet ${job.steps} steps, ${(job.supernetParams / 1e3).toFixed(0)}k weights, ${supernetSeconds.toFixed(0)} s, val ${(job.supernetValLoss / Math.LN2).toFixed(3)} bpc (not a score); retrained ${scores.join(", ")}${job.stoppedEarly ? `; ${job.stoppedEarly}` : ""}`,
  };
}

async function runStrategy(type: "random" | "evolution", budget: number): Promise<Row> {
  const started = performance.now();
  const space = args.space === "base" ? restrictToBase(fullSpace, args.base) : fullSpace;
  const options = type === "evolution" ? { populationSize: args.population, sampleSize: Math.min(args.tournament, args.population) } : {};
  const strategy = createStrategy({ type, ...options }, space, args.seed);
  let spent = 0;
  let trials = 0;
  let best = { bpc: Infinity, arch: undefined as Architecture | undefined };
  const truncated: string[] = [];
  while (spent < budget) {
    const [proposal] = await strategy.ask(1);
    if (!proposal) break;
    // A trial that does not fit in what is left trains for the steps that do (at least a tenth of a trial).
    const params = parameterCount(parseArchitecture(proposal.architecture), dims);
    const steps = Math.min(args.trialSteps, Math.floor((budget - spent) / params));
    if (steps < Math.max(1, Math.ceil(args.trialSteps / 10))) break;
    if (steps < args.trialSteps) truncated.push(`trial ${trials + 1} (${(params / 1e3).toFixed(0)}k weights) cut to ${steps} steps`);
    const r = await trainOne(space, proposal.architecture, args.seed + 1000 + trials, steps);
    spent += r.cost;
    trials += 1;
    if (r.bpc < best.bpc) best = { bpc: r.bpc, arch: proposal.architecture };
    const result: TrialResult = { trialId: String(trials), architecture: proposal.architecture, status: "completed", objective: r.bpc, score: -r.bpc, metrics: { val_bpc: r.bpc }, parentId: proposal.parentId ?? null };
    await strategy.tell([result]);
  }
  return {
    strategy: type,
    bestBpc: best.bpc,
    bestArchitecture: best.arch,
    trials,
    budget: spent / 1e6,
    seconds: (performance.now() - started) / 1000,
    notes: [type === "evolution" ? `population ${options.populationSize}, tournament ${options.sampleSize}` : "", ...truncated].filter(Boolean).join("; "),
  };
}

const rows: Row[] = [];
let budget = Infinity;
if (args.strategies[0] !== "darts") throw new Error("the budget comes from the DARTS run: --strategies must start with darts");
for (const s of args.strategies) {
  if (s === "darts" || s === "darts2") {
    const row = await runDarts(s === "darts" ? args.order : 2);
    rows.push(row);
    if (s === "darts") budget = row.budget * 1e6;
  } else if (s === "random" || s === "evolution") rows.push(await runStrategy(s, budget));
  else throw new Error(`unknown strategy '${s}' (darts, darts2, random, evolution)`);
}

if (args.json) console.log(JSON.stringify({ args, backend, rows }, null, 2));
else {
  console.log(`\nDARTS vs random vs evolution on transformer-lm, charlm-moby-dick (${backend}); seed ${args.seed}, ${args.trialSteps} steps per trial at lr ${args.lr}, batch ${args.batch} × ${args.context} tokens, space for random/evolution: ${args.space}`);
  console.log(`budget = steps × parameters; DARTS's total (${(budget / 1e6).toFixed(1)} M) is the budget of the others\n`);
  console.log(["strategy".padEnd(18), "best val_bpc".padStart(12), "trials".padStart(7), "budget (M)".padStart(11), "time (s)".padStart(9), "  notes"].join(" "));
  for (const r of rows) {
    console.log([r.strategy.padEnd(18), r.bestBpc.toFixed(3).padStart(12), String(r.trials).padStart(7), r.budget.toFixed(1).padStart(11), r.seconds.toFixed(0).padStart(9), `  ${r.notes}`].join(" "));
  }
  console.log(`total time ${rows.reduce((t, r) => t + r.seconds, 0).toFixed(0)} s (wall time depends on the machine's load; the budget does not)`);
  for (const r of rows) if (r.bestArchitecture) console.log(`best of ${r.strategy}: ${JSON.stringify(r.bestArchitecture)}`);
}
