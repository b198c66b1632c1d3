/**
 * Which way is better, per metric. An objective's direction is not the user's choice: accuracy is maximised and a
 * loss minimised whatever a request says, so a search asking to minimise `test_accuracy` is refused (400 naming
 * `objective.direction`) and the directions of one leaderboard (space, task, metric) never mix. Every metric an
 * evaluator reports as an objective, and every cost known before training, has its row (a test checks that).
 */
import type { Objective } from "./evaluators.js";

export const METRIC_DIRECTIONS: Readonly<Record<string, Objective["direction"]>> = {
  // NAS-Bench-201 (benchmark evaluator)
  test_accuracy: "maximize",
  // Transformer trials
  val_bpc: "minimize",
  val_loss: "minimize",
  accuracy: "maximize",
  train_loss: "minimize",
  tokens_per_second: "maximize",
  wall_time_s: "minimize",
  dropped_fraction: "minimize",
  estimated_memory_mb: "minimize",
  // Flow trials
  gap_nats: "minimize",
  test_nll: "minimize",
  val_nll: "minimize",
  bits_per_dim: "minimize",
  training_time_s: "minimize",
  sampling_time_s: "minimize",
  // Costs known before training (catalogue/architecture-costs.ts): smaller is cheaper
  params: "minimize",
  active_params: "minimize",
  flops: "minimize",
  flops_per_token: "minimize",
  flops_per_sample: "minimize",
};

/** The direction fixed for `metric`, or undefined for a metric without one (not an objective of any evaluator). */
export function metricDirection(metric: string): Objective["direction"] | undefined {
  return Object.hasOwn(METRIC_DIRECTIONS, metric) ? METRIC_DIRECTIONS[metric] : undefined;
}

/** Why `objective` goes the wrong way (undefined when its direction is the metric's, or the metric has none). */
export function directionProblem(objective: Objective): string | undefined {
  const fixed = metricDirection(objective.metric);
  if (!fixed || fixed === objective.direction) return undefined;
  const better = fixed === "maximize" ? "higher" : "lower";
  return `${objective.metric} is ${fixed === "maximize" ? "maximized" : "minimized"} (${better} is better): an objective's direction is fixed per metric, so that one leaderboard never mixes directions; use "direction": "${fixed}"`;
}
