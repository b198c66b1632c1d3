import { describe, expect, it } from "vitest";
import { loadConfig, ConfigError } from "../../src/config.js";
import { benchmarkEntry as benchmarkEvaluator } from "../../src/catalogue/evaluators.js";
import { BenchmarkEvaluator } from "../../src/evaluators/benchmark.js";
import { NasBench201Table } from "../../src/evaluators/nasbench201-table.js";
import { TrialError } from "../../src/evaluators/evaluator.js";
import { nb201FromString } from "../../src/spaces/nasbench201.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";

const config = loadConfig({});
const spaces = SpaceRegistry.fromDirectory(config.SEARCH_SPACES_DIR);
const nb = spaces.get("nasbench201")!;
const ctx = { reportProgress: () => {}, shouldStop: () => false, log: () => {} };

describe("NAS-Bench-201 table", () => {
  const table = NasBench201Table.fromFile(config.NASBENCH201_CSV);

  it("reads every row of the configured CSV", () => {
    expect(table.size).toBe(15625);
    expect(table.valueColumn).toBe("cifar10_test_acc_200ep");
    expect(table.max()).toBeCloseTo(94.37, 2);
  });

  it("accepts the benchmark's string and the space's JSON form for the same cell", () => {
    const s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
    expect(table.lookup(s)).toBeCloseTo(93.66, 2);
    expect(table.lookup(nb201FromString(s)!)).toBe(table.lookup(s));
  });

  it("rejects a file that is not such a table, naming the path", () => {
    expect(() => new NasBench201Table("a,b\n1,2", "x.csv")).toThrow(/x.csv: expected a header/);
    expect(() => NasBench201Table.fromFile("/nonexistent.csv")).toThrow(/not readable at \/nonexistent.csv/);
  });
});

describe("benchmark evaluator", () => {
  const evaluator = new BenchmarkEvaluator(config);
  const request = (architecture: object) => ({
    trialId: "t", searchId: "s", attempt: 1, space: nb, architecture: architecture as never,
    config: benchmarkEvaluator.options.parse({}), objective: { metric: "test_accuracy", direction: "maximize" as const }, seed: 1,
  });

  it("scores a cell by lookup with the metric test_accuracy", async () => {
    const arch = nb201FromString("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")!;
    expect((await evaluator.evaluate(request(arch), ctx)).metrics).toEqual({ test_accuracy: 85.8633 });
  });

  it("fails a cell that is not in the table with a TrialError (not retried)", async () => {
    await expect(evaluator.evaluate(request({ node1_from0: "bogus" }), ctx)).rejects.toBeInstanceOf(TrialError);
  });

  it("under a scheduler, reports a simulated curve at each budget that is exact at the full budget", async () => {
    const arch = nb201FromString("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")!;
    const points: Array<{ step: number; values: Record<string, number> }> = [];
    const result = await evaluator.evaluate({ ...request(arch), budgets: [1, 3, 9, 27] }, { ...ctx, reportProgress: (p) => void points.push(p) });
    expect(points.map((p) => p.step)).toEqual([1, 3, 9, 27]);
    expect(points.at(-1)!.values.test_accuracy).toBe(85.8633);
    const errors = points.map((p) => Math.abs(p.values.test_accuracy! - 85.8633));
    expect(errors[0]).toBeGreaterThan(0);
    expect(errors).toEqual([...errors].sort((a, b) => b - a)); // the curve closes in on the final value
    expect(result.metrics).toEqual({ test_accuracy: 85.8633 });
  });

  it("stops between budgets when asked to (pruning)", async () => {
    const arch = nb201FromString("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")!;
    let reports = 0;
    const run = evaluator.evaluate({ ...request(arch), budgets: [1, 3, 9] }, { ...ctx, reportProgress: () => void reports++, shouldStop: () => reports >= 1 });
    await expect(run).rejects.toThrow(/stopped at budget 1/);
  });

  it("only accepts nasbench201 spaces and reports the task key", () => {
    expect(benchmarkEvaluator.incompatibility(nb, benchmarkEvaluator.options.parse({}), { metric: "test_accuracy", direction: "maximize" })).toBeUndefined();
    expect(benchmarkEvaluator.task(benchmarkEvaluator.options.parse({ dataset: "cifar10" }))).toBe("cifar10");
  });
});

describe("config", () => {
  it("has defaults that work on a developer machine", () => {
    expect(config.DATABASE_URL).toBe("postgresql://root@127.0.0.1:5432/nas");
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(config.PORT).toBe(3000);
  });
  it("names the bad setting", () => {
    expect(() => loadConfig({ PORT: "http" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "http" })).toThrow(/invalid setting PORT/);
    expect(() => loadConfig({ REDIS_URL: "not a url" })).toThrow(/REDIS_URL/);
  });
});
