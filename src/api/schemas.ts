/**
 * Request and response schemas of the REST API: the single source of validation, TypeScript types and the
 * OpenAPI document at /docs.
 */
import { z } from "zod";
import { evaluatorConfigSchema } from "../catalogue/evaluators.js";
import { MAX_CONSTRAINTS, MAX_OBJECTIVES } from "../catalogue/objectives.js";
import { schedulerConfigSchema } from "../catalogue/schedulers.js";
import { strategyConfigSchema } from "../catalogue/strategies.js";
import { searchStatusSchema, trialKindSchema, trialStatusSchema } from "../core/status.js";

/**
 * What a string may not hold. Everywhere (any string or key of a body, query or path): NUL, which PostgreSQL
 * cannot store in text or jsonb, and lone UTF-16 surrogates, which are not Unicode (text would silently become
 * U+FFFD, jsonb refuses them). In names and identifiers also the other C0 and C1 control characters.
 */
export function stringProblem(s: string, controls: boolean): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return "must not contain a NUL character (\\u0000)";
    if (controls && (c < 0x20 || (c >= 0x7f && c <= 0x9f))) return `must not contain control characters (\\u${c.toString(16).padStart(4, "0")})`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return "must be well-formed Unicode (it has a lone UTF-16 surrogate)";
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return "must be well-formed Unicode (it has a lone UTF-16 surrogate)";
  }
  return undefined;
}

/** A line of text: 1 to `max` characters, no control characters, well-formed Unicode. */
export const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((s, ctx) => {
      const problem = stringProblem(s, true);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** Deepest nesting of arrays and objects a request may have (an architecture needs a handful of levels). */
export const MAX_JSON_DEPTH = 32;

/**
 * The first place in a parsed body, query or path where a value cannot be stored or walked safely: a string or key
 * with NUL or a lone surrogate, or nesting deeper than MAX_JSON_DEPTH (libraries that walk JSON recursively, such as
 * Prisma's serializer, overflow the stack). Iterative, so any depth JSON.parse returns is fine.
 */
export function unstorable(value: unknown, maxDepth = MAX_JSON_DEPTH): { path: Array<string | number>; message: string } | undefined {
  const stack: Array<{ v: unknown; path: Array<string | number> }> = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === "string") {
      const problem = stringProblem(v, false);
      if (problem) return { path, message: problem };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (path.length >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels of arrays and objects` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const problem = stringProblem(key, false);
      if (problem) return { path, message: `key ${printable(key)} ${problem}` };
      stack.push({ v: (v as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return undefined;
}

/** A string for an error message: JSON-quoted (so NUL and surrogates are escapes) and at most about 60 characters. */
export function printable(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}

/** Longest identifier the API takes (a space id, a leaderboard task, a metric, an artifact name). */
export const MAX_ID_LENGTH = 200;
/** An identifier: a search space's id, a task key, a metric, an artifact's name. */
export const identifier = () => text(MAX_ID_LENGTH);

export const uuidParam = z.object({ id: z.string().uuid("must be a UUID") });

export const objectiveSchema = z.strictObject({
  metric: identifier().describe("metric the evaluator reports, e.g. test_accuracy, val_bpc, gap_nats"),
  direction: z.enum(["minimize", "maximize"]),
});

/** One objective, or a list of them (multi-objective: Pareto fronts, hypervolume; the first is the primary one). */
export const objectivesSchema = z
  .union([objectiveSchema, z.array(objectiveSchema).min(1).max(MAX_OBJECTIVES)])
  .describe(`one {metric, direction}, or a list of up to ${MAX_OBJECTIVES} for a multi-objective search (the first is the primary objective: the trial's \`objective\`, \`best\`, the leaderboard)`);

export const constraintSchema = z
  .strictObject({
    metric: identifier().describe("a metric the evaluator reports, or a cost known before training (nasbench201: flops, params; transformer: params, active_params, flops_per_token; flow: params, flops_per_sample)"),
    max: z.number().finite().optional().describe("the metric must be ≤ max"),
    min: z.number().finite().optional().describe("the metric must be ≥ min"),
  })
  .describe("a bound on one metric; a cost known before training is checked before the trial is queued (infeasible candidates are never trained), any other metric makes a trial that breaks it infeasible (behind every feasible trial, on no Pareto front)");

/** What budget.maxTrials counts (README, "Budget"); a search's `progress` shows the counts. */
export const BUDGET_COUNTS = "every trial that finished: completed, pruned (stopped early by the scheduler) or failed (refused before training included); cancelled trials and DARTS' supernet job do not count";

export const budgetSchema = z.strictObject({
  maxTrials: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .describe(`trials the search runs: it completes when this many have finished, counting ${BUDGET_COUNTS} (so under ASHA most are pruned: 100 trials may give 9 completed)`),
  maxParallel: z.number().int().min(1).max(10_000).default(4).describe("trials queued or running at once (default 4)"),
  maxFailures: z.number().int().min(0).max(1_000_000).optional().describe("failed trials tolerated before the search fails (default: maxTrials)"),
});

export const createSearchBody = z.strictObject({
  name: text(200),
  space: identifier().describe("a search space (GET /v1/search-spaces): a built-in one's id, or the name of one of the project's own (its newest version) or name@version"),
  strategy: strategyConfigSchema,
  evaluator: evaluatorConfigSchema,
  objective: objectivesSchema,
  constraints: z.array(constraintSchema).max(MAX_CONSTRAINTS).optional().describe(`bounds on metrics (at most ${MAX_CONSTRAINTS})`),
  referencePoint: z
    .array(z.number().finite())
    .min(1)
    .max(MAX_OBJECTIVES)
    .optional()
    .describe("the point the search's hypervolume is measured from, one value per objective in the metric's own units (default: a constraint's bound on the objective's worse side, else the worst value of the feasible trials moved 10% of their range further)"),
  budget: budgetSchema,
  scheduler: schedulerConfigSchema
    .optional()
    .describe("multi-fidelity scheduling: trials report at budgets minBudget·eta^k and the scheduler stops (prunes) the unpromising ones; budgets are training steps for the train evaluator"),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0).describe("seeds the strategy and every trial (default 0)"),
});
export type CreateSearchBody = z.infer<typeof createSearchBody>;

const json = z.unknown();
const trialStatus = trialStatusSchema;
const searchStatus = searchStatusSchema;

export const trialSchema = z
  .object({
    id: z.string(),
    searchId: z.string(),
    seq: z.number().int().describe("creation order within the search"),
    kind: trialKindSchema.describe("trial: an architecture trained and scored; supernet: a DARTS supernet job, whose own loss is never an architecture's score"),
    status: trialStatus,
    architecture: json,
    archHash: z.string().describe("canonical hash: the same architecture has the same hash in every search"),
    objective: z.number().nullable(),
    metrics: json.nullable(),
    attempts: z.number().int(),
    error: z.string().nullable(),
    worker: z.string().nullable(),
    backend: z.string().nullable().describe("the tfjs backend the trial trained on (e.g. wasm+openblas, tensorflow, webgpu), set when a trainer starts it; null before"),
    step: z.number().int().nullable().describe("the last step of its learning curve in its current attempt (null before its first point)"),
    budgetSteps: z
      .number()
      .nullable()
      .describe("the steps it will train: under a scheduler its full budget (it may be pruned at a rung before), with the train evaluator its budget.steps (or train.steps decision, or the family's default); null for a benchmark lookup or a job"),
    etaSeconds: z.number().nullable().describe("a running trial: seconds left at its rate so far (steps since it started over the time taken); null otherwise"),
    parentId: z.string().nullable().describe("the trial this one was derived from (lineage), if any"),
    queuedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .describe("Trial");

export const trialDetailSchema = trialSchema
  .extend({
    curve: z.array(z.object({ attempt: z.number().int(), step: z.number().int(), values: z.record(z.string(), z.number()) })).describe("learning curve points in order"),
    artifacts: z.array(z.object({ name: z.string(), url: z.string() })),
  })
  .describe("TrialDetail");

export const searchProgressSchema = z
  .object({
    completed: z.number().int(),
    pruned: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
    running: z.number().int(),
    queued: z.number().int(),
    budget: z.number().int().describe(`budget.maxTrials, which counts ${BUDGET_COUNTS}: the search is done when completed + pruned + failed reaches it`),
  })
  .describe("the search's trials by status (trials only, not DARTS' supernet job) and its budget");

export const searchSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    space: z.string(),
    spaceVersion: z.string().nullable().describe("the version of the space the search runs on (a user's space: its content hash), snapshotted with the search"),
    task: z.string().describe("leaderboard task key of the evaluator, e.g. cifar10"),
    status: searchStatus,
    strategy: json,
    evaluator: json,
    objective: z.object({ metric: z.string(), direction: z.enum(["minimize", "maximize"]) }).describe("the primary objective (the first of `objectives`)"),
    objectives: z.array(z.object({ metric: z.string(), direction: z.enum(["minimize", "maximize"]) })).describe("every objective, in order (one for a single-objective search)"),
    constraints: z.array(z.object({ metric: z.string(), max: z.number().optional(), min: z.number().optional() })).describe("bounds on metrics"),
    referencePoint: z.array(z.number()).nullable().describe("the declared reference point of the hypervolume, if any"),
    budget: z.object({ maxTrials: z.number().int(), maxParallel: z.number().int(), maxFailures: z.number().int() }),
    scheduler: json.nullable(),
    seed: z.number().int(),
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    progress: searchProgressSchema,
    best: z
      .object({ trialId: z.string(), objective: z.number(), architecture: json })
      .nullable()
      .describe("the best completed trial by the primary objective (ties: the first to complete), or null"),
    backends: z.record(z.string(), z.number().int()).describe("trials started on each tfjs backend, e.g. {\"wasm\": 3, \"tensorflow\": 1}: a search whose trainers run different backends says so"),
  })
  .describe("Search");

export const searchDetailSchema = searchSchema
  .extend({
    trials: z.object({ total: z.number().int(), queued: z.number().int(), running: z.number().int(), completed: z.number().int(), failed: z.number().int(), pruned: z.number().int(), cancelled: z.number().int() }),
    best: z
      .object({ trialId: z.string(), id: z.string().describe("the same as trialId"), architecture: json, archHash: z.string(), objective: z.number(), metrics: json })
      .nullable()
      .describe("the best completed trial by the primary objective (ties: the first to complete), or null"),
    bestSoFar: z.array(z.number()).describe("best objective after each completed trial, in completion order"),
    pareto: z
      .object({ size: z.number().int(), hypervolume: z.number().nullable(), referencePoint: z.array(z.number()).nullable(), url: z.string() })
      .nullable()
      .describe("searches of several objectives: the Pareto front's size and hypervolume against the reference point (the front itself at url); null for one objective"),
    supernet: z
      .object({ trialId: z.string(), status: trialStatus, alphas: z.record(z.string(), z.record(z.string(), z.number())).nullable(), alphasUrl: z.string() })
      .nullable()
      .describe("DARTS searches: the supernet job, its latest α (decision → candidate → weight) and where the α series is; its loss is not a score"),
  })
  .describe("SearchDetail");

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().uuid("must be a cursor returned by a previous page").optional(),
});

export const alphaSeriesSchema = z
  .object({
    items: z.array(z.object({ trialId: z.string(), attempt: z.number().int(), step: z.number().int(), alphas: z.record(z.string(), z.record(z.string(), z.number())) })),
  })
  .describe("AlphaSeries");
