/**
 * The implementation of every evaluator of the catalogue (src/catalogue/evaluators.ts), by `type`: trainers create
 * evaluators here. Training evaluators run in training threads (training-thread.ts) unless the trainer runs
 * tfjs-node, whose memory is native and freed (a wasm heap is not) and whose native module is not meant to be
 * loaded once per thread. Adding an evaluator is its description in the catalogue and one entry here; the
 * conformance suite (tests/conformance/evaluator.test.ts) then runs against it.
 */
import type { EvaluatorType } from "../catalogue/evaluators.js";
import type { Config } from "../config.js";
import { currentBackend } from "../models/backend.js";
import { BenchmarkEvaluator } from "./benchmark.js";
import type { EvaluationContext, EvaluationRequest, EvaluationResult, Evaluator } from "./evaluator.js";
import { runSupernetTrial } from "./supernet.js";
import { runTrainTrial } from "./train.js";
import { ThreadedEvaluator, type ThreadEvaluator } from "./training-thread.js";

function training(type: ThreadEvaluator, run: (request: EvaluationRequest<never>, ctx: EvaluationContext) => Promise<EvaluationResult>, config: Config): Evaluator {
  const backend = currentBackend();
  // Native (tfjs-node) and GPU (webgpu: Dawn's device belongs to the trainer's thread) memory is freed on dispose:
  // trials run in the trainer's own thread. The wasm heap never shrinks: a training thread per trial there.
  if (backend === "tensorflow" || backend === "tensorflow-gpu" || backend === "webgpu") return { evaluate: run as Evaluator["evaluate"] };
  return new ThreadedEvaluator(config.TRAINER_RECYCLE_HEAP_MB * 2 ** 20, type);
}

const IMPLEMENTATIONS: Record<EvaluatorType, (config: Config) => Evaluator> = {
  benchmark: (config) => new BenchmarkEvaluator(config),
  train: (config) => training("train", runTrainTrial, config),
  supernet: (config) => training("supernet", runSupernetTrial, config),
};

/** Creates the evaluator of a type; undefined for a type the catalogue does not know. */
export function createEvaluator(type: string, config: Config): Evaluator | undefined {
  return (IMPLEMENTATIONS as Record<string, (config: Config) => Evaluator>)[type]?.(config);
}
