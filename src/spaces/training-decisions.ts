/**
 * Training settings searched together with the architecture (as users of Optuna and NNI do): a decision named
 * `train.<option>` (e.g. `train.learningRate`, `train.batchSize`, `train.warmupSteps`, `train.weightDecay`,
 * `train.steps`) sets that option of the `train` evaluator for the trial whose architecture holds it, overriding
 * the search's `evaluator` options. `train.steps` is the trial's training budget (`budget.steps`).
 *
 * The architecture keeps these values (so two trials that differ only in their learning rate are two architectures
 * with two hashes); the model builders never see them (`modelArchitecture`). Which options a family accepts, and
 * their bounds, is the catalogue's business (src/catalogue/user-spaces.ts validates a space's training decisions
 * against the train evaluator's options).
 */
import type { Architecture, DecisionValue } from "./definition.js";

export const TRAIN_PREFIX = "train.";

/** The option a training decision sets (`train.learningRate` → `learningRate`); undefined for an architecture decision. */
export function trainingOption(decision: string): string | undefined {
  return decision.startsWith(TRAIN_PREFIX) ? decision.slice(TRAIN_PREFIX.length) : undefined;
}

/** The architecture without its training decisions: what a model is built from. */
export function modelArchitecture(arch: Architecture): Architecture {
  const out: Architecture = {};
  for (const [k, v] of Object.entries(arch)) if (trainingOption(k) === undefined) out[k] = v;
  return out;
}

/** The training decisions of an architecture, by option (`{learningRate: 0.003}`); empty when it has none. */
export function trainingDecisions(arch: Architecture): Record<string, DecisionValue> {
  const out: Record<string, DecisionValue> = {};
  for (const [k, v] of Object.entries(arch)) {
    const option = trainingOption(k);
    if (option !== undefined && !Array.isArray(v)) out[option] = v;
  }
  return out;
}

/**
 * The evaluator options a trial trains with: the search's options with the architecture's training decisions in
 * place of theirs (`steps` sets `budget.steps`, keeping a `budget.seconds` limit).
 */
export function withTrainingDecisions(arch: Architecture, options: Record<string, unknown>): Record<string, unknown> {
  const decided = trainingDecisions(arch);
  if (Object.keys(decided).length === 0) return options;
  const { steps, ...rest } = decided;
  const out: Record<string, unknown> = { ...options, ...rest };
  if (steps !== undefined) out.budget = { ...((options.budget as Record<string, unknown> | undefined) ?? {}), steps };
  return out;
}
