/**
 * Every evaluator the service offers, by `type`. The API validates a search's `evaluator` against these schemas,
 * and trainers create evaluators through this list.
 */
import { z } from "zod";
import { benchmarkEvaluator } from "./benchmark.js";
import { trainEvaluator } from "./train.js";
import type { EvaluatorDefinition } from "./evaluator.js";

export const EVALUATORS = [benchmarkEvaluator, trainEvaluator] as const satisfies readonly EvaluatorDefinition[];

export const evaluatorConfigSchema = z.discriminatedUnion(
  "type",
  EVALUATORS.map((e) => e.config.extend({ type: z.literal(e.type) }).describe(e.description)) as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]],
);
export type EvaluatorConfig = { type: string } & Record<string, unknown>;

export function evaluatorDefinition(type: string): EvaluatorDefinition | undefined {
  return (EVALUATORS as readonly EvaluatorDefinition[]).find((e) => e.type === type);
}
