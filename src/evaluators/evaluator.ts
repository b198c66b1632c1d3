/**
 * How a trial is scored. A trainer worker calls `evaluate` once per attempt; the evaluator reads nothing from the
 * database or the queue: it gets the architecture and the evaluator's options, reports its learning curve
 * through `ctx.reportProgress`, checks `ctx.shouldStop()` between steps (cancel, pruning) and returns metrics.
 * The options, the metrics an objective may name and the compatibility rules are described in src/catalogue/
 * (light); implementations are registered in ./registry.ts and pass tests/conformance/evaluator.test.ts.
 *
 * Errors decide retry (src/core/errors.ts): throw `TrialError` when the trial itself is at fault (the architecture
 * cannot be built, diverged, does not fit in memory) and retrying cannot help; `TrialStopped` after a stop request;
 * `InfraError` when a service the evaluator depends on is unreachable (retried later, never charged to the trial);
 * any other error is treated as transient and the trial is retried up to the configured number of attempts. The
 * trainer times an evaluation out after TRIAL_TIMEOUT_S (the time it spends storing progress does not count).
 *
 * Concurrency: a trainer may run several evaluations of one evaluator at once (TRAINER_CONCURRENCY); each call
 * gets its own request and context.
 */
export { TrialError, TrialStopped } from "../core/errors.js";
import type { Architecture } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";
import type { DatasetSource } from "../datasets/kinds.js";

export type MetricValue = number | string | boolean | null | MetricValue[] | { [key: string]: MetricValue };
export type Metrics = Record<string, MetricValue>;

export interface EvaluationRequest<Config = unknown> {
  trialId: string;
  searchId: string;
  /** 1 for the first attempt. */
  attempt: number;
  space: SearchSpace;
  architecture: Architecture;
  /** The evaluator's options as stored with the search (or the job), validated at the API by the catalogue. */
  config: Config;
  objective: { metric: string; direction: "minimize" | "maximize" };
  /** Seed for everything random in this trial (initialisation, batches), derived from the search seed and the trial. */
  seed: number;
  /**
   * Set when a multi-fidelity scheduler runs the search: the budgets (training steps for `train`) at which the
   * evaluator must report a curve point carrying the objective, ascending; the last one is the trial's full
   * budget and replaces the config's. The point's `values` hold the objective metric under its own name, or, where
   * the objective is measured on test data, a validation estimate of it under the key `objective` (pruning never
   * looks at test data). A pruned trial is asked to stop (`shouldStop`) after such a report.
   */
  budgets?: readonly number[];
  /**
   * Retraining a search's winner into a model (POST /v1/searches/:id/retrain, src/trainer/retrain.ts): train on the
   * training and validation data together and score on the test data (metrics `test_*`). Trials never set it.
   */
  final?: boolean;
  /**
   * Set when the evaluator's options name an uploaded dataset (`dataset: "ds_…"`): the file the trainer cached its
   * bytes in and the seed of its train/validation/test split (src/trainer/datasets.ts). The dataset's kind decides
   * the task (src/tasks/datasets.ts).
   */
  dataset?: DatasetSource;
}

export interface ProgressPoint {
  step: number;
  /** e.g. {train_loss: 2.1} or {val_loss: 2.3, val_bpc: 3.3}; may be empty for a point that only carries α. */
  values: Record<string, number>;
  /** DARTS: the architecture weights at this step (decision path → candidate → softmax weight), stored as a series. */
  alphas?: Record<string, Record<string, number>>;
}

export interface EvaluationContext {
  reportProgress(point: ProgressPoint): void | Promise<void>;
  /** True once the trial should stop (cancelled search, pruned by a scheduler, worker shutting down). */
  shouldStop(): boolean;
  log(message: string): void;
  /**
   * Aborted when the trainer abandons the evaluation (it ran past TRIAL_TIMEOUT_S): the result is no longer
   * awaited, `shouldStop()` is true, and an evaluator holding a thread or a process for it terminates it now.
   */
  signal?: AbortSignal;
}

/** A file produced by a trial (an image of a density, a sample), served under the trial. */
export interface Artifact {
  name: string;
  contentType: string;
  data: Buffer;
}

export interface EvaluationResult {
  /** Always includes the objective metric. */
  metrics: Metrics;
  artifacts?: Artifact[];
}

export interface Evaluator<Cfg = unknown> {
  evaluate(request: EvaluationRequest<Cfg>, ctx: EvaluationContext): Promise<EvaluationResult>;
  /** Frees what the evaluator holds (tensors, worker threads) when the process shuts down. */
  close?(): Promise<void>;
}
