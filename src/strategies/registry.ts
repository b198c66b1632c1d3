/**
 * Every strategy the service offers, by `type`. The API builds its request schema (and OpenAPI document) from
 * this list, and the orchestrator creates strategies through it, so adding a strategy is one entry here.
 */
import { z } from "zod";
import type { SearchSpace } from "../spaces/space.js";
import { dartsStrategy } from "./darts.js";
import { evolutionStrategy } from "./evolution.js";
import { localSearchStrategy } from "./local-search.js";
import { predictorStrategy } from "./predictor.js";
import { randomStrategy } from "./random.js";
import { reinforceStrategy } from "./reinforce.js";
import type { JsonValue, Strategy, StrategyDefinition } from "./strategy.js";

export const STRATEGIES = [randomStrategy, evolutionStrategy, reinforceStrategy, localSearchStrategy, predictorStrategy, dartsStrategy] as const satisfies readonly StrategyDefinition[];

export type StrategyType = (typeof STRATEGIES)[number]["type"];

/** Request schema of `strategy`: a union discriminated by `type`, each with its own options. */
export const strategyConfigSchema = z.discriminatedUnion(
  "type",
  STRATEGIES.map((s) => s.options.extend({ type: z.literal(s.type) }).describe(s.description)) as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]],
);
export type StrategyConfig = { type: string } & Record<string, unknown>;

export function strategyDefinition(type: string): StrategyDefinition | undefined {
  return (STRATEGIES as readonly StrategyDefinition[]).find((s) => s.type === type);
}

/** Creates (and, given a stored state, restores) the strategy of a search. */
export function createStrategy(config: StrategyConfig, space: SearchSpace, seed: number, state?: JsonValue | null): Strategy {
  const def = strategyDefinition(config.type);
  if (!def) throw new Error(`unknown strategy '${config.type}'`);
  const { type: _type, ...rest } = config;
  const strategy = def.create({ space, options: def.options.parse(rest), seed });
  if (state !== undefined && state !== null) strategy.restore(state);
  return strategy;
}
