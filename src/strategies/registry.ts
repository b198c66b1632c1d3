/**
 * The implementation of every strategy of the catalogue (src/catalogue/strategies.ts), by `type`: the orchestrator
 * creates a search's strategy here. Adding a strategy is its options in the catalogue and one entry here; the
 * conformance suite (tests/conformance/strategy.test.ts) then runs against it.
 */
import { strategyEntry, type StrategyConfig, type StrategyType } from "../catalogue/strategies.js";
import type { JsonValue } from "../core/json.js";
import { DartsStrategy } from "./darts.js";
import { EvolutionStrategy } from "./evolution.js";
import { LocalSearchStrategy } from "./local-search.js";
import { PredictorStrategy } from "./predictor.js";
import { RandomStrategy } from "./random.js";
import { ReinforceStrategy } from "./reinforce.js";
import type { Strategy, StrategyArgs, StrategyContext } from "./strategy.js";
import type { SearchSpace } from "../spaces/space.js";

// Options arrive validated by their catalogue schema (createStrategy parses them), hence the casts.
const IMPLEMENTATIONS: Record<StrategyType, (args: StrategyArgs<never>) => Strategy> = {
  random: (args) => new RandomStrategy(args),
  evolution: (args) => new EvolutionStrategy(args),
  reinforce: (args) => new ReinforceStrategy(args),
  "local-search": (args) => new LocalSearchStrategy(args),
  predictor: (args) => new PredictorStrategy(args),
  darts: (args) => new DartsStrategy(args),
};

export const STRATEGY_TYPES = Object.keys(IMPLEMENTATIONS) as StrategyType[];

/**
 * Creates (and, given a stored state, restores) the strategy of a search. Throws for an unknown type, options its
 * schema rejects, and (StateError) a stored state the strategy cannot read.
 */
export function createStrategy(config: StrategyConfig, space: SearchSpace, seed: number, state?: JsonValue | null, context: StrategyContext = {}): Strategy {
  const entry = strategyEntry(config.type);
  if (!entry) throw new Error(`unknown strategy '${config.type}'`);
  const { type, ...rest } = config;
  const strategy = IMPLEMENTATIONS[type as StrategyType]({ space, options: entry.options.parse(rest) as never, seed, ...context });
  if (state !== undefined && state !== null) strategy.restore(state);
  return strategy;
}
