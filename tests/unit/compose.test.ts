/**
 * docker-compose.yml cannot run here (no Docker engine), so its syntax is checked by Compose itself
 * (`docker compose config`, or the standalone `docker-compose config` where the plugin is absent), and its
 * commands and settings are checked against package.json and the config schema.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config.js";
import { ROOT } from "../setup/env.js";

const compose = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");

function composeConfig() {
  // Without the Compose plugin the docker CLI treats `compose` as unknown (and then rejects `-q` as its own flag).
  const plugin = spawnSync("docker", ["compose", "version"], { cwd: ROOT, encoding: "utf8" });
  if (plugin.status === 0) return { tool: "docker compose", ...spawnSync("docker", ["compose", "config", "-q"], { cwd: ROOT, encoding: "utf8" }) };
  return { tool: "docker-compose", ...spawnSync("docker-compose", ["config", "-q"], { cwd: ROOT, encoding: "utf8" }) };
}

describe("docker-compose.yml", () => {
  it("is valid Compose syntax", () => {
    const result = composeConfig();
    expect(result.error, `${result.tool} is not installed (.ci/run installs docker-compose)`).toBeUndefined();
    expect(result.status, `${result.tool} config: ${result.stderr}`).toBe(0);
  });

  it("has postgres, redis, api, orchestrator and a scalable trainer", () => {
    for (const s of ["postgres", "redis", "migrate", "api", "orchestrator", "trainer"]) expect(compose).toMatch(new RegExp(`^  ${s}:`, "m"));
    // A fixed container_name or host port on the trainer would stop `--scale trainer=N`.
    const trainer = compose.slice(compose.indexOf("\n  trainer:"));
    expect(trainer).not.toMatch(/container_name|ports:/);
  });

  it("runs the same npm scripts as the README, with settings the config knows", () => {
    const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
    const used = [...compose.matchAll(/\["npm", "run", "([^"]+)"\]/g)].map((m) => m[1]!);
    expect(new Set(used)).toEqual(new Set(["db:migrate", "start:api", "start:orchestrator", "start:trainer"]));
    for (const s of used) expect(scripts[s], s).toBeDefined();
    const vars = [...compose.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!).filter((v) => !v.startsWith("POSTGRES_"));
    for (const v of vars) expect(Object.keys(configSchema.shape), v).toContain(v);
  });
});
