/**
 * The `benchmark` evaluator: scores NAS-Bench-201 cells by table lookup (no training), with the metric
 * `test_accuracy` (CIFAR-10 test accuracy after 200 epochs, %). It makes strategies comparable on a real
 * benchmark in seconds, and it is what the pipeline benchmark drives.
 */
import { benchmarkOptions, type BenchmarkOptions } from "../catalogue/evaluators.js";
import type { Config } from "../config.js";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type Evaluator } from "./evaluator.js";
import { NasBench201Table } from "./nasbench201-table.js";
import { curveOffset, simulatedObservation } from "./simulated-curve.js";

export class BenchmarkEvaluator implements Evaluator<BenchmarkOptions> {
  private table?: NasBench201Table;

  constructor(private readonly appConfig: Pick<Config, "NASBENCH201_CSV">) {}

  async evaluate(request: EvaluationRequest<BenchmarkOptions>, ctx: EvaluationContext) {
    this.table ??= NasBench201Table.fromFile(this.appConfig.NASBENCH201_CSV);
    const value = this.table.lookup(request.architecture);
    if (value === undefined) throw new TrialError(`architecture not in the NAS-Bench-201 table`);
    const { latencyMs, curveNoise } = benchmarkOptions.parse(request.config);
    const budgets = request.budgets ?? [1];
    const maxBudget = budgets.at(-1)!;
    const model = { minBudget: budgets[0]!, maxBudget, noise: curveNoise };
    const offset = curveOffset(request.space.hash(request.architecture), request.seed);
    let spent = 0;
    for (const budget of budgets) {
      await simulateTraining((latencyMs * (budget - spent)) / maxBudget, ctx);
      spent = budget;
      // The table has only the final score: below the full budget the curve is simulated (simulated-curve.ts).
      if (request.budgets) await ctx.reportProgress({ step: budget, values: { test_accuracy: simulatedObservation(value, budget, model, offset) } });
      if (ctx.shouldStop()) throw new TrialStopped(`stopped at budget ${budget}`);
    }
    return { metrics: { test_accuracy: value } };
  }
}

/** Simulated training time, in small steps so that a cancel or a pruning is honoured as it would be mid-training. */
async function simulateTraining(ms: number, ctx: EvaluationContext): Promise<void> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (ctx.shouldStop()) throw new TrialStopped("stopped");
    await new Promise((r) => setTimeout(r, Math.min(50, ms - waited)));
  }
}
