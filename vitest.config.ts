import { defineConfig } from "vitest/config";

// One run = one fresh PostgreSQL database and one Redis key prefix (tests/setup/global.ts), dropped afterwards.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/setup/global.ts"],
    reporters: ["default", "./tests/setup/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores: files that spawn processes or train models must not all run at once.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
