/**
 * `npm run bench:api`: the REST API under load, against the real stack (the API, one orchestrator and --trainers
 * trainer processes started as an operator starts them, scripts/services.ts) on a fresh database, with a key made
 * at the API's start (API_ADMIN_KEY), and RATE_LIMIT_PER_MINUTE and MAX_ACTIVE_SEARCHES_PER_PROJECT raised so that
 * neither refuses the bench's requests (the rate limiter still runs on every request, in Redis).
 *
 *   1. A seed search (NAS-Bench-201, --seed-trials trials) runs to completion, filling the leaderboard.
 *   2. Reads with autocannon, --connections (200) connections for --duration (10) s each, after 1 s of warm-up:
 *      GET /v1/leaderboard (with task and metric, and with the metric left to its default), GET /v1/searches/:id
 *      (the seed search's detail), GET /v1/searches.
 *   3. --submissions (20) POST /v1/searches sent at once (each a random search of --trials (20) trials); then waits
 *      until every one has completed and checks each has exactly --trials completed trials.
 *
 * Prints requests/s, p50/p99 latency and error counts (socket errors, timeouts, non-2xx) of each.
 * Flags: --connections N --duration S --submissions N --trials N --seed-trials N --trainers N
 *        --only leaderboard,leaderboard-defaults,detail,list,submit (a subset of the measurements, in that order; also healthz and
 *        spaces: GET /healthz and GET /v1/search-spaces/:id, the cost of the framework without the database)
 *        --keep (leave the database, to look at its statements afterwards)
 *        --profile DIR (the API runs with --cpu-prof and writes its profile to DIR when it stops)
 * Targets (issue "safe to share, hard to break"): reads p99 < 250 ms at 200 connections; submissions p99 < 1 s.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { loadConfig } from "../src/config.js";
import { newKey } from "../src/db/projects.js";
import { dropDatabase, migrate } from "../src/db/migrate.js";
import { ensureBackingServices, ROOT, startWorker, stopWorkers, waitForHttp, type Started } from "../scripts/services.js";

const { values: args } = parseArgs({
  options: {
    connections: { type: "string", default: "200" },
    duration: { type: "string", default: "10" },
    submissions: { type: "string", default: "20" },
    trials: { type: "string", default: "20" },
    "seed-trials": { type: "string", default: "300" },
    trainers: { type: "string", default: "2" },
    profile: { type: "string" },
    only: { type: "string", default: "leaderboard,leaderboard-defaults,detail,list,submit" },
    keep: { type: "boolean", default: false },
  },
});
const connections = Number(args.connections);
const submissions = Number(args.submissions);
const trialsPerSearch = Number(args.trials);
const only = new Set(args.only!.split(","));

const base = loadConfig();
await ensureBackingServices(base.DATABASE_URL, base.REDIS_URL);
const stamp = Date.now();
const dbUrl = new URL(base.DATABASE_URL);
dbUrl.pathname = `/nas_bench_api_${stamp}`;
const DATABASE_URL = dbUrl.toString();
await migrate(DATABASE_URL);
const port = 3900 + Math.floor(Math.random() * 90);
const api = `http://127.0.0.1:${port}`;
const key = newKey();
const env: Record<string, string> = {
  API_ADMIN_KEY: key,
  API_ADMIN_PROJECT: "bench",
  DATABASE_URL,
  PORT: String(port),
  QUEUE_PREFIX: `nas_bench_api_${stamp}`,
  LOG_LEVEL: "warn",
  TRAINER_CONCURRENCY: "8",
  RATE_LIMIT_PER_MINUTE: "100000000",
  MAX_ACTIVE_SEARCHES_PER_PROJECT: String(Math.max(20, submissions + 1)),
};
const profileDir = args.profile ? path.resolve(args.profile) : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const started: Started[] = [profileDir ? profiledApi(profileDir) : startWorker("api", env)];
started.push(startWorker("orchestrator", env));
for (let i = 0; i < Number(args.trainers); i++) started.push(startWorker("trainer", env));

/** The API as startWorker starts it, under --cpu-prof (which NODE_OPTIONS may not carry): the profile is written at exit. */
function profiledApi(dir: string): Started {
  const child = spawn(process.execPath, [`--cpu-prof`, `--cpu-prof-dir=${dir}`, "--import", "tsx", path.join(ROOT, "workers", "api.ts")], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  let out = "";
  const keep = (d: Buffer) => {
    out += d;
    log.push(...d.toString().split("\n").filter(Boolean));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  return { name: "api", child, log, output: () => out, exited: new Promise((resolve) => child.on("exit", resolve)) };
}

const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
/** What the bench reads of a search (GET /v1/searches/:id). */
interface SearchDetail {
  id: string;
  status: string;
  trials: { total: number; completed: number };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever each route answers, read as it is
type Body = any;
const call = async (url: string, init: RequestInit = {}): Promise<{ status: number; body: Body }> => {
  const res = await fetch(`${api}${url}`, { ...init, headers: { ...headers, ...init.headers } });
  return { status: res.status, body: await res.json() };
};
const search = (name: string, maxTrials: number, seed: number) => ({
  name, space: "nasbench201", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
  objective: { metric: "test_accuracy", direction: "maximize" }, budget: { maxTrials, maxParallel: 8 }, seed,
});
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every search of `ids` has ended; returns their details. */
async function waitForSearches(ids: string[], timeoutMs: number): Promise<SearchDetail[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ids);
  while (pending.size) {
    if (Date.now() > deadline) throw new Error(`${pending.size} of ${ids.length} searches still running after ${timeoutMs} ms`);
    await sleep(250);
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: string; status: string }>; nextCursor: string | null } } = await call(`/v1/searches?limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      for (const s of page.body.items) if (["completed", "failed", "cancelled"].includes(s.status)) pending.delete(s.id);
      cursor = page.body.nextCursor;
    } while (cursor);
  }
  return Promise.all(ids.map(async (id) => (await call(`/v1/searches/${id}`)).body));
}

async function cannon(label: string, url: string): Promise<void> {
  const opts = { url: `${api}${url}`, connections, headers: { authorization: `Bearer ${key}` } };
  await autocannon({ ...opts, duration: 1 }); // warm-up (JIT, the pool's connections, prepared statements): not counted
  const r = await autocannon({ ...opts, duration: Number(args.duration) });
  const errors = r.errors + r.timeouts;
  console.log(
    `  ${label.padEnd(32)} ${r.requests.average.toFixed(0).padStart(6)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; ` +
      `${r.requests.total} requests, errors ${errors}, non-2xx ${r.non2xx}`,
  );
}

/** Thrown to skip what --only leaves out. */
class Done extends Error {}

try {
  await waitForHttp(`${api}/readyz`, started);
  await sleep(2000); // let every trainer connect

  // 1. A completed search: the leaderboard and its detail have rows to read.
  const seeded = await call("/v1/searches", { method: "POST", body: JSON.stringify(search("bench-seed", Number(args["seed-trials"]), 1)) });
  if (seeded.status !== 201) throw new Error(`seed search: ${seeded.status} ${JSON.stringify(seeded.body)}`);
  const seed = (await waitForSearches([seeded.body.id], 300_000))[0]!;
  console.log(`api bench: ${args.trainers} trainers × 8, seed search ${seed.status} with ${seed.trials.completed} trials; ${connections} connections × ${args.duration} s per read`);

  // 2. Reads.
  console.log("reads:");
  // Not by default: the floor under every route (no database; the second with authentication and the rate limit).
  if (only.has("healthz")) await cannon("GET /healthz", "/healthz");
  if (only.has("spaces")) await cannon("GET /v1/search-spaces/:id", "/v1/search-spaces/nasbench201");
  if (only.has("leaderboard")) await cannon("GET /v1/leaderboard", "/v1/leaderboard?space=nasbench201&task=cifar10&metric=test_accuracy&limit=20");
  // Without metric: its default is the newest search's objective, one more statement.
  if (only.has("leaderboard-defaults")) await cannon("GET /v1/leaderboard (defaults)", "/v1/leaderboard?space=nasbench201&task=cifar10&limit=20");
  if (only.has("detail")) await cannon("GET /v1/searches/:id", `/v1/searches/${seed.id}`);
  if (only.has("list")) await cannon("GET /v1/searches", "/v1/searches?limit=20");
  if (!only.has("submit")) throw new Done();

  // 3. Submissions at once, then every one to completion.
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const t0 = performance.now();
  const ids = await Promise.all(
    Array.from({ length: submissions }, async (_, i) => {
      const s = performance.now();
      const res = await call("/v1/searches", { method: "POST", body: JSON.stringify(search(`bench-${i}`, trialsPerSearch, 100 + i)) }).catch(() => ({ status: 0, body: null }));
      latencies.push(performance.now() - s);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      return res.status === 201 ? (res.body.id as string) : null;
    }),
  );
  const wall = performance.now() - t0;
  const created = ids.filter((id): id is string => id !== null);
  const codes = [...statuses].map(([code, n]) => `${n}× ${code}`).join(", ");
  console.log("submissions:");
  console.log(
    `  ${submissions} POST /v1/searches at once: p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms, ` +
      `all answered in ${wall.toFixed(0)} ms (${(submissions / (wall / 1000)).toFixed(0)} req/s); ${codes}; errors ${submissions - created.length}`,
  );
  const t1 = performance.now();
  const done = await waitForSearches(created, 600_000);
  const exact = done.filter((s) => s.status === "completed" && s.trials.completed === trialsPerSearch && s.trials.total === trialsPerSearch).length;
  console.log(
    `  all ${created.length} searches ended ${((performance.now() - t1) / 1000).toFixed(1)} s after the last answer: ` +
      `${exact} completed with exactly ${trialsPerSearch} completed trials${exact === created.length ? "" : ` (MISMATCH: ${JSON.stringify(done.filter((s) => s.trials.completed !== trialsPerSearch).map((s) => [s.id, s.status, s.trials]))})`}`,
  );
  if (exact !== created.length) process.exitCode = 1;
} catch (err) {
  if (!(err instanceof Done)) throw err;
} finally {
  await stopWorkers(started);
  if (args.keep) console.log(`database kept: ${DATABASE_URL}`);
  else await dropDatabase(DATABASE_URL);
  if (process.env.BENCH_API_LOG) console.log(started[0]!.output().split("\n").filter((l) => l.includes(process.env.BENCH_API_LOG!)).join("\n"));
  if (profileDir) console.log(`API CPU profile in ${profileDir} (open it in Chrome DevTools or speedscope)`);
}
