/**
 * `npm run bench:api-start`: cold start time and resident memory of the API process, as an operator starts it
 * (`node --import tsx workers/api.ts`), and which heavy modules it loaded. For each of --runs (5) fresh processes:
 * milliseconds from spawn to the first 200 from /healthz, VmRSS once ready, and the modules the process resolved
 * (recorded by a module resolve hook, tests/setup/record-imports.mjs) that are tfjs or native addons.
 *
 * Flags: --runs N, --root DIR (another checkout of the service, e.g. a `git worktree` of an older commit with
 * its own node_modules, to compare in one run: the two are started alternately).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { ROOT, ensureBackingServices } from "../scripts/services.js";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "5" }, root: { type: "string", multiple: true } } });
const roots = [ROOT, ...(args.root ?? []).map((r) => path.resolve(r))];
const config = loadConfig();
await ensureBackingServices(config.DATABASE_URL, config.REDIS_URL);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = roots.map(() => ({ startMs: [] as number[], rssMiB: [] as number[], heavy: [] as string[] }));
for (let run = 0; run < Number(args.runs); run++) {
  for (const [i, root] of roots.entries()) await measure(root, results[i]!);
}
for (const [i, root] of roots.entries()) {
  const { startMs, rssMiB, heavy } = results[i]!;
  console.log(`${root}:`);
  console.log(`  api cold start over ${startMs.length} runs: median ${median(startMs).toFixed(0)} ms (min ${Math.min(...startMs).toFixed(0)}, max ${Math.max(...startMs).toFixed(0)})`);
  console.log(`  api resident memory once ready: median ${median(rssMiB).toFixed(1)} MiB`);
  console.log(`  tfjs or native modules loaded: ${heavy.length === 0 ? "none" : `${heavy.length}, e.g. ${heavy.slice(0, 2).join(", ")}`}`);
}

async function measure(root: string, out: (typeof results)[number]): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "api-start-"));
  const record = path.join(dir, "imports.txt");
  const port = 4100 + Math.floor(Math.random() * 800);
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", "--import", path.join(ROOT, "tests/setup/record-imports.mjs"), path.join(root, "workers/api.ts")], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "warn", RECORD_IMPORTS: record },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited with code ${child.exitCode}`);
    if (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  out.startMs.push(performance.now() - t0);
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  out.rssMiB.push(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
  out.heavy = [...new Set(readFileSync(record, "utf8").split("\n").filter((u) => /@tensorflow\/|\.node$|native\/blas/.test(u)))];
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
