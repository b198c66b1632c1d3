/** Prints the run's totals as one plain line, `N passed, N failed, N skipped`, after vitest's own summary. */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") totals.passed++;
        else if (state === "failed") totals.failed++;
        else totals.skipped++;
      }
      if (m.state() === "failed" && [...m.children.allTests()].length === 0) totals.failed++;
    }
    process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}
