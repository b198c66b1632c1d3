/**
 * The `train` evaluator: builds the trial's architecture with tfjs, trains it on the configured task and scores it,
 * one trainer per family of search space (train-transformer.ts, train-flow.ts). Its options, tasks and objective
 * rules are described in src/catalogue/evaluators.ts and src/catalogue/tasks.ts; each family's trainer parses the
 * options with its own schema.
 */
import { modelArchitecture, withTrainingDecisions } from "../spaces/training-decisions.js";
import { TrialError, type EvaluationContext, type EvaluationRequest, type EvaluationResult } from "./evaluator.js";
import { runFlowTrial } from "./train-flow.js";
import { runTransformerTrial } from "./train-transformer.js";

const TRAINERS: Record<string, (request: EvaluationRequest, ctx: EvaluationContext) => Promise<EvaluationResult>> = {
  transformer: runTransformerTrial,
  flow: runFlowTrial,
};

/** Trains one trial in this thread (a training thread calls this; see training-thread.ts). */
export async function runTrainTrial(request: EvaluationRequest, ctx: EvaluationContext): Promise<EvaluationResult> {
  const train = TRAINERS[request.space.family];
  if (!train) throw new TrialError(`the train evaluator cannot train '${request.space.family}' spaces`);
  // Training settings searched with the architecture (`train.learningRate`, …) override the search's options.
  const config = withTrainingDecisions(request.architecture, (request.config ?? {}) as Record<string, unknown>);
  return train({ ...request, config, architecture: modelArchitecture(request.architecture) }, ctx);
}
