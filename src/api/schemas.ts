/**
 * Request and response schemas of the REST API: the single source of validation, TypeScript types and the
 * OpenAPI document at /docs.
 */
import { z } from "zod";
import { evaluatorConfigSchema } from "../catalogue/evaluators.js";
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

export const budgetSchema = z.strictObject({
  maxTrials: z.number().int().min(1).max(1_000_000).describe("the search completes when this many trials have completed"),
  maxParallel: z.number().int().min(1).max(10_000).default(4).describe("trials queued or running at once (default 4)"),
  maxFailures: z.number().int().min(0).max(1_000_000).optional().describe("failed trials tolerated before the search fails (default: maxTrials)"),
});

export const createSearchBody = z.strictObject({
  name: text(200),
  space: identifier().describe("id of a search space (GET /v1/search-spaces)"),
  strategy: strategyConfigSchema,
  evaluator: evaluatorConfigSchema,
  objective: objectiveSchema,
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

export const searchSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    space: z.string(),
    task: z.string().describe("leaderboard task key of the evaluator, e.g. cifar10"),
    status: searchStatus,
    strategy: json,
    evaluator: json,
    objective: z.object({ metric: z.string(), direction: z.enum(["minimize", "maximize"]) }),
    budget: z.object({ maxTrials: z.number().int(), maxParallel: z.number().int(), maxFailures: z.number().int() }),
    scheduler: json.nullable(),
    seed: z.number().int(),
    error: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .describe("Search");

export const searchDetailSchema = searchSchema
  .extend({
    trials: z.object({ total: z.number().int(), queued: z.number().int(), running: z.number().int(), completed: z.number().int(), failed: z.number().int(), pruned: z.number().int(), cancelled: z.number().int() }),
    best: z.object({ id: z.string(), architecture: json, archHash: z.string(), objective: z.number(), metrics: json }).nullable(),
    bestSoFar: z.array(z.number()).describe("best objective after each completed trial, in completion order"),
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
