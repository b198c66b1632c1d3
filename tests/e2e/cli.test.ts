/**
 * The `nas` command as a user runs it: a subprocess (bin/nas.mjs) talking to a real API (with an orchestrator and a
 * trainer, separate processes on the real PostgreSQL and Redis) through NAS_URL and NAS_API_KEY. Its stdout is a
 * pipe here, so it prints plain lines (no progress bar).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "../setup/cluster.js";
import { ROOT } from "../setup/env.js";

let cluster: Cluster;
const dir = mkdtempSync(path.join(tmpdir(), "nas-cli-"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function nas(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, "bin/nas.mjs"), ...args],
      { cwd: dir, env: { ...process.env, NAS_URL: cluster.base, NAS_API_KEY: cluster.key }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const SEARCH_YAML = `# a small benchmark search
name: cli-search
space: nasbench201
strategy:
  type: random
evaluator:
  type: benchmark
objective:
  metric: test_accuracy
  direction: maximize
budget:
  maxTrials: 8
  maxParallel: 4
seed: 11
`;

beforeAll(async () => {
  cluster = await startCluster("e2e_cli", { trainers: 1, trainerEnv: { TRAINER_CONCURRENCY: "4" } });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

describe("the nas command", () => {
  let searchId: string;

  it("creates a search from YAML and watches it to completion (plain lines on a pipe, exit code 0)", async () => {
    writeFileSync(path.join(dir, "search.yaml"), SEARCH_YAML);
    const run = await nas("search", "create", "search.yaml");
    const lines = run.stdout.trim().split("\n");
    searchId = /created search ([0-9a-f-]{36})/.exec(lines[0]!)![1]!;
    expect(run.code, `${run.stdout}${run.stderr}\n${(await cluster.trials(searchId)).map((t) => t.error).join("\n")}`).toBe(0);
    expect(lines.at(-1)).toBe(`search ${searchId} completed`);
    expect(lines.some((l) => /^8\/8 done {2}\d+ running {2}best \d/.test(l))).toBe(true);
    expect(run.stdout).not.toContain("\r");
  }, 60_000);

  it("lists searches, trials and the leaderboard, and exports the trials as CSV", async () => {
    const [ls, trials, completedJson, board, csv, boards] = await Promise.all([
      nas("search", "ls"),
      nas("trials", searchId),
      nas("--json", "trials", searchId, "--status", "completed"),
      nas("leaderboard", "--space", "nasbench201", "--task", "cifar10"),
      nas("export", searchId, "--format", "csv"),
      nas("leaderboard"),
    ]);
    expect(boards.stdout).toMatch(/\nnasbench201 +cifar10 +test_accuracy +maximize +\d+/);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^ID +NAME +STATUS +DONE`));
    expect(ls.stdout).toMatch(new RegExp(`${searchId} +cli-search +completed +8/8`));
    expect(trials.stdout.trim().split("\n")).toHaveLength(1 + 8);
    const parsed = JSON.parse(completedJson.stdout) as Array<{ status: string; searchId: string }>;
    expect(parsed).toHaveLength(8);
    expect(parsed.every((t) => t.status === "completed" && t.searchId === searchId)).toBe(true);
    expect(board.code, board.stderr).toBe(0);
    expect(board.stdout).toContain("nasbench201 · cifar10 · test_accuracy");
    expect(board.stdout).toMatch(/\n1 +\d/);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = csv.stdout.trim().split("\n");
    expect(rows).toHaveLength(1 + 8);
    expect(rows[0]).toMatch(/^id,seq,/);
    expect(rows[0]!.split(",")).toContain("status");
    expect(rows.slice(1).every((r) => r.split(",")[0]!.length === 36)).toBe(true);
  }, 60_000);

  it("on a terminal, redraws one progress bar in place", async () => {
    // util-linux `script` gives the CLI a pseudo-terminal as stdout.
    const run = await new Promise<Run>((resolve) => {
      const command = [process.execPath, path.join(ROOT, "bin/nas.mjs"), "search", "watch", searchId].map((a) => `'${a}'`).join(" ");
      execFile("script", ["-qefc", command, "/dev/null"], { cwd: dir, env: { ...process.env, NAS_URL: cluster.base, NAS_API_KEY: cluster.key }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("\r\x1b[2K[##############################]  8/8 done");
    expect(run.stdout.trim().split(/\r?\n/).at(-1)).toBe(`search ${searchId} completed`);
  }, 30_000);

  it("cancels a detached search; watching it then exits non-zero", async () => {
    writeFileSync(path.join(dir, "slow.json"), JSON.stringify({ name: "slow", space: "nasbench201", strategy: { type: "random" }, evaluator: { type: "benchmark", latencyMs: 5000 }, objective: { metric: "test_accuracy", direction: "maximize" }, budget: { maxTrials: 4, maxParallel: 1 }, seed: 2 }));
    const created = await nas("--json", "search", "create", "slow.json", "--detach");
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const cancelled = await nas("search", "cancel", id);
    expect(cancelled.stdout.trim()).toBe(`search ${id} cancelled`);
    const watched = await nas("search", "watch", id);
    expect(watched.code).toBe(1);
    expect(watched.stdout.trim().split("\n").at(-1)).toBe(`search ${id} cancelled`);
  }, 60_000);

  it("shows an API error as one line naming the field, with exit code 1", async () => {
    writeFileSync(path.join(dir, "bad.yaml"), SEARCH_YAML.replace("maxTrials: 8", "maxTrials: 0"));
    const run = await nas("search", "create", "bad.yaml");
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(/^error: budget\.maxTrials: \S/);
    const missing = await nas("search", "watch", "00000000-0000-4000-8000-000000000001");
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^error: search '00000000-0000-4000-8000-000000000001' not found$/);
  }, 30_000);
});
