/**
 * The `benchmark` evaluator: scores NAS-Bench-201 cells by table lookup (no training), with the metric
 * `test_accuracy` (CIFAR-10 test accuracy after 200 epochs, %). It makes strategies comparable on a real
 * benchmark in seconds, and it is what the pipeline benchmark drives.
 */
import { z } from "zod";
import type { Config } from "../config.js";
import { defineEvaluator, TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type Evaluator } from "./evaluator.js";
import { NasBench201Table } from "./nasbench201-table.js";

const config = z.object({
  dataset: z.enum(["cifar10"]).default("cifar10").describe("benchmark table to look up; cifar10 reads NASBENCH201_CSV"),
  latencyMs: z
    .number()
    .int()
    .min(0)
    .max(600_000)
    .default(0)
    .describe("simulated training time per trial in ms (default 0): lets a pipeline be exercised with trials that take time, as real ones do"),
});

class BenchmarkEvaluator implements Evaluator<z.infer<typeof config>> {
  private table?: NasBench201Table;

  constructor(private readonly appConfig: Config) {}

  async evaluate(request: EvaluationRequest<z.infer<typeof config>>, ctx: EvaluationContext) {
    this.table ??= NasBench201Table.fromFile(this.appConfig.NASBENCH201_CSV);
    // Simulated training, in small steps so that a cancel or a shutdown is honoured as it would be mid-training.
    for (let waited = 0; waited < request.config.latencyMs; waited += 50) {
      if (ctx.shouldStop()) throw new TrialStopped("stopped");
      await new Promise((r) => setTimeout(r, Math.min(50, request.config.latencyMs - waited)));
    }
    const value = this.table.lookup(request.architecture);
    if (value === undefined) throw new TrialError(`architecture not in the NAS-Bench-201 table`);
    return { metrics: { test_accuracy: value } };
  }
}

export const benchmarkEvaluator = defineEvaluator({
  type: "benchmark",
  description: "Tabular lookup in NAS-Bench-201 (metric test_accuracy, %).",
  config,
  metrics: ["test_accuracy"],
  task: (c) => c.dataset,
  incompatibility: (space) =>
    space.family === "nasbench201" ? undefined : { field: "type", message: `the benchmark evaluator scores nasbench201 spaces only, not the '${space.family}' family` },
  create: (appConfig) => new BenchmarkEvaluator(appConfig),
});
