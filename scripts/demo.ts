/**
 * `npm run demo`: the whole service on this machine, end to end. Applies migrations, starts the API, an
 * orchestrator and two trainers, submits a NAS-Bench-201 random search over REST, shows its progress until it
 * completes, prints the leaderboard, and stops what it started. It prints the dashboard's address with the demo's
 * key in the fragment (`/#key=…`: the page keeps it and drops it from the address), to watch the search live;
 * `npm run demo -- --keep` leaves the stack running after the search, until Ctrl-C, to go on browsing. Settings come
 * from the environment as for the service itself (DATABASE_URL, REDIS_URL, PORT, NASBENCH201_CSV, …); DEMO_TRIALS
 * sets the number of trials.
 */
import { loadConfig } from "../src/config.js";
import { migrate } from "../src/db/migrate.js";
import { newKey } from "../src/db/projects.js";
import { ensureBackingServices, startWorker, stopWorkers, waitForHttp, type Started } from "./services.js";

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    process.exit(1);
  }
})();
const trials = Number(process.env.DEMO_TRIALS ?? 200);
const keep = process.argv.slice(2).includes("--keep");
const base = `http://127.0.0.1:${config.PORT}`;

await ensureBackingServices(config.DATABASE_URL, config.REDIS_URL);
const applied = await migrate(config.DATABASE_URL);
console.log(applied.length ? `migrations applied: ${applied.join(", ")}` : "database is up to date");

if (await fetch(`${base}/healthz`).then(() => true, () => false)) {
  console.error(`demo: something already listens on port ${config.PORT}; stop it or set PORT`);
  process.exit(1);
}
// The demo's API makes this key for itself at start (API_ADMIN_KEY, project "demo"): every request carries it.
const key = newKey();
const headers = { authorization: `Bearer ${key}` };
const env = { LOG_LEVEL: "warn", TRAINER_CONCURRENCY: "4", API_ADMIN_KEY: key, API_ADMIN_PROJECT: "demo" };
const started: Started[] = [startWorker("api", env), startWorker("orchestrator", env), startWorker("trainer", env), startWorker("trainer", env)];
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("\nstopping the API, orchestrator and trainers… ");
  await stopWorkers(started);
  console.log("done");
  process.exit(code);
};
process.on("SIGINT", () => void stop(130));

try {
  await waitForHttp(`${base}/readyz`, started);
  console.log(`API, orchestrator and 2 trainers running (OpenAPI at ${base}/docs)`);
  const page = await fetch(`${base}/`).then((r) => r.status, () => 0);
  console.log(`dashboard: ${base}/#key=${encodeURIComponent(key)}${page === 200 ? "" : "  (not built: run 'npm run build:web')"}`);
  const body = {
    name: "nb201-random-demo",
    space: "nasbench201",
    strategy: { type: "random" },
    evaluator: { type: "benchmark", dataset: "cifar10" },
    objective: { metric: "test_accuracy", direction: "maximize" },
    budget: { maxTrials: trials, maxParallel: 8 },
    seed: Math.floor(Math.random() * 1000),
  };
  console.log(`POST /v1/searches ${JSON.stringify(body)}`);
  const res = await fetch(`${base}/v1/searches`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
  const search = (await res.json()) as { id: string; message?: string };
  if (res.status !== 201) throw new Error(`the API answered ${res.status}: ${search.message}`);
  console.log(`search ${search.id}`);

  const t0 = Date.now();
  for (;;) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON response, read field by field below
    const s = (await (await fetch(`${base}/v1/searches/${search.id}`, { headers })).json()) as any;
    const done = s.progress ? s.progress.completed + s.progress.pruned : s.trials.completed;
    const width = 30;
    const bar = "#".repeat(Math.round((done / trials) * width)).padEnd(width, ".");
    const inFlight = s.progress ? s.progress.running + s.progress.queued : s.trials.running + s.trials.queued;
    process.stdout.write(`\r[${bar}] ${done}/${trials} completed, ${inFlight} in flight, best ${s.best ? s.best.objective.toFixed(2) : "-"}% (${s.status})   `);
    if (!["queued", "running"].includes(s.status)) {
      console.log(`\nsearch ${s.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s${s.error ? `: ${s.error}` : ""}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON response, read field by field below
  const board = (await (await fetch(`${base}/v1/leaderboard?space=nasbench201&task=cifar10&limit=10`, { headers })).json()) as any;
  console.log(`\nleaderboard: ${board.space} / ${board.task} / ${board.metric} (all searches)`);
  console.log("rank  test_accuracy  architecture");
  for (const r of board.rows) {
    const a = r.architecture;
    console.log(`${String(r.rank).padStart(4)}  ${r.objective.toFixed(2).padStart(13)}  |${a.node1_from0}~0|+|${a.node2_from0}~0|${a.node2_from1}~1|+|${a.node3_from0}~0|${a.node3_from1}~1|${a.node3_from2}~2|`);
  }
  if (keep) {
    console.log(`\n--keep: the API, orchestrator and trainers stay up; browse ${base}/#key=${encodeURIComponent(key)} (Ctrl-C stops them)`);
    // The children's pipes keep the process alive; the timer makes that explicit. SIGINT stops them (above).
    setInterval(() => {}, 1 << 30);
    await new Promise(() => {});
  }
  await stop(0);
} catch (err) {
  console.error(`\ndemo: ${(err as Error).message}`);
  for (const s of started) if (s.log.length) console.error(`  ${s.name}: ${s.log.slice(-3).join(" | ")}`);
  await stop(1);
}
