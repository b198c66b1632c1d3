/**
 * The layer rules (.dependency-cruiser.cjs) hold on the real tree, and they bite: probe files that break one rule
 * each are written into the layers they would spoil, cruised, and removed again.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cruise, type ICruiseResult, type IViolation } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Unique per process: two test runs at once must not remove each other's probes. */
const PROBE = `__layer_probe_${process.pid}__`;

async function cruiseFrom(files: string[], exclude?: string): Promise<ICruiseResult> {
  // dependency-cruiser's module names, and so the rules' paths, are relative to the working directory.
  const cwd = process.cwd();
  if (cwd !== ROOT) process.chdir(ROOT);
  try {
    const options = await extractDepcruiseOptions("./.dependency-cruiser.cjs");
    const tsConfig = extractTSConfig("./tsconfig.json");
    const { output } = await cruise(files, { ...options, ...(exclude ? { exclude: { path: exclude } } : {}) }, undefined, { tsConfig });
    return output as ICruiseResult;
  } finally {
    if (cwd !== ROOT) process.chdir(cwd);
  }
}

const errors = (result: ICruiseResult): IViolation[] => result.summary.violations.filter((v) => v.rule.severity === "error");

describe("layer rules", () => {
  it("hold on the real tree, whose imports all resolve", async () => {
    const result = await cruiseFrom(["src", "workers", "tests", "benchmarks", "scripts", "web"], "__layer_probe_");
    expect(errors(result).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
    // Not vacuous: the NodeNext `.js` specifiers resolve to the `.ts` files, so the graph has its edges.
    const searches = result.modules.find((m) => m.source === "src/api/routes/searches.ts");
    expect(searches?.dependencies.map((d) => d.resolved)).toContain("src/catalogue/index.ts");
    expect(result.summary.totalDependenciesCruised).toBeGreaterThan(300);
  });

  describe("bite", () => {
    /** file (relative to the root) → its source; each breaks the rule its test names. */
    const probes: Record<string, string> = {
      [`src/api/${PROBE}.ts`]: `import "../strategies/registry.js";\n`,
      [`src/catalogue/${PROBE}.ts`]: `import "@tensorflow/tfjs-core";\n`,
      [`src/catalogue/${PROBE}b.ts`]: `import "../db/client.js";\n`,
      [`src/core/${PROBE}.ts`]: `import "../config.js";\n`,
      [`src/strategies/${PROBE}.ts`]: `import "pg";\n`,
      [`src/models/${PROBE}.ts`]: `import "bullmq";\n`,
      [`src/orchestrator/${PROBE}.ts`]: `import "../evaluators/registry.js";\n`,
      [`src/trainer/${PROBE}.ts`]: `import "../strategies/registry.js";\n`,
      [`src/spaces/${PROBE}.ts`]: `import "./${PROBE}b.js";\n`,
      [`src/spaces/${PROBE}b.ts`]: `import "./${PROBE}.js";\n`,
      [`tests/unit/${PROBE}.ts`]: `import "../../workers/api.js";\n`,
      [`web/src/${PROBE}.ts`]: `import "node:fs";\nimport "../../src/db/client.js";\n`,
      [`src/api/${PROBE}w.ts`]: `import "../../web/src/types.js";\n`,
    };
    let result: ICruiseResult;

    beforeAll(async () => {
      try {
        for (const [file, source] of Object.entries(probes)) writeFileSync(path.join(ROOT, file), source);
        result = await cruiseFrom(Object.keys(probes));
      } finally {
        for (const file of Object.keys(probes)) rmSync(path.join(ROOT, file), { force: true });
      }
    });
    afterAll(() => {
      for (const file of Object.keys(probes)) rmSync(path.join(ROOT, file), { force: true });
    });

    const broken = (from: string): string[] => [...new Set(errors(result).filter((v) => v.from === from).map((v) => v.rule.name))].sort();

    it("api imports only catalogue, db, queue, core, config and logger, and reaches no tfjs", () => {
      // The strategies' registry reaches the REINFORCE controller, a tfjs model.
      expect(broken(`src/api/${PROBE}.ts`)).toEqual(["api-loads-no-tfjs", "api-only-to-catalogue-db-queue"]);
    });

    it("catalogue reaches no tfjs and imports no service layer", () => {
      expect(broken(`src/catalogue/${PROBE}.ts`)).toEqual(["catalogue-is-light"]);
      expect(broken(`src/catalogue/${PROBE}b.ts`)).toContain("catalogue-not-to-service-layers");
    });

    it("the dashboard is browser code, and nothing imports it", () => {
      expect(broken(`web/src/${PROBE}.ts`)).toEqual(["web-is-browser-code"]);
      expect(errors(result).filter((v) => v.from === `web/src/${PROBE}.ts`).map((v) => v.to)).toEqual(expect.arrayContaining(["fs", "src/db/client.ts"]));
      expect(broken(`src/api/${PROBE}w.ts`)).toContain("nothing-imports-web");
    });

    it("core imports nothing else from src/", () => {
      expect(broken(`src/core/${PROBE}.ts`)).toEqual(["core-is-self-contained"]);
    });

    it("only src/db imports the database client", () => {
      expect(broken(`src/strategies/${PROBE}.ts`)).toEqual(["db-client-only-in-db"]);
    });

    it("models know nothing of queues", () => {
      expect(broken(`src/models/${PROBE}.ts`)).toEqual(["models-tasks-know-no-infrastructure"]);
    });

    it("the orchestrator does not evaluate, the trainer does not propose", () => {
      expect(broken(`src/orchestrator/${PROBE}.ts`)).toEqual(["orchestrator-layers"]);
      expect(broken(`src/trainer/${PROBE}.ts`)).toEqual(["trainer-layers"]);
    });

    it("no cycles in src/", () => {
      expect(broken(`src/spaces/${PROBE}.ts`)).toEqual(["no-circular"]);
    });

    it("nothing imports workers/", () => {
      expect(broken(`tests/unit/${PROBE}.ts`)).toEqual(["nothing-imports-workers"]);
    });
  });
});
