/** The README documents every setting and names only npm scripts that exist. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config.js";
import { ROOT } from "../setup/env.js";

const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;

describe("README", () => {
  it("documents every environment variable of src/config.ts", () => {
    for (const name of Object.keys(configSchema.shape)) expect(readme, name).toContain(`| \`${name}\` |`);
  });

  it("names only npm scripts that exist", () => {
    const used = [...readme.matchAll(/npm run ([a-z][a-z0-9:]*[a-z0-9])|npm (test)\b/g)].map((m) => (m[1] ?? m[2])!);
    expect(used.length).toBeGreaterThan(5);
    for (const s of used) expect(scripts, `npm run ${s}`).toHaveProperty(s === "test" ? "test" : s);
  });
});
