/**
 * Request and response schemas of the REST API: the single source of validation, TypeScript types and the
 * OpenAPI document at /docs.
 */
import { z } from "zod";
import { evaluatorConfigSchema } from "../catalogue/evaluators.js";
import { schedulerConfigSchema } from "../catalogue/schedulers.js";
import { strategyConfigSchema } from "../catalogue/strategies.js";
import { searchStatusSchema, trialKindSchema, trialStatusSchema } from "../core/status.js";

export const uuidParam = z.object({ id: z.string().uuid("must be a UUID") });

export const objectiveSchema = z.strictObject({
  metric: z.string().min(1).describe("metric the evaluator reports, e.g. test_accuracy, val_bpc, gap_nats"),
  direction: z.enum(["minimize", "maximize"]),
});

export const budgetSchema = z.strictObject({
  maxTrials: z.number().int().min(1).max(1_000_000).describe("the search completes when this many trials have completed"),
  maxParallel: z.number().int().min(1).max(10_000).default(4).describe("trials queued or running at once (default 4)"),
  maxFailures: z.number().int().min(0).optional().describe("failed trials tolerated before the search fails (default: maxTrials)"),
});

export const createSearchBody = z.strictObject({
  name: z.string().min(1).max(200),
  space: z.string().min(1).describe("id of a search space (GET /v1/search-spaces)"),
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
