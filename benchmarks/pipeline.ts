/**
 * `npm run bench:pipeline`: throughput and latency of the service itself, with table lookups as trials (~0 ms
 * each), so what is measured is the pipeline: REST → PostgreSQL → orchestrator → BullMQ → trainers → PostgreSQL.
 *
 *   1. A NAS-Bench-201 random search of --trials (2,000) trials with --trainers (4) trainer processes, one
 *      orchestrator and the API, on a fresh database: trials/s end to end (POST → completed) and the p50/p99 of
 *      per-trial overhead (trial inserted and enqueued → completed).
 *   2. GET /v1/leaderboard latency (p50/p99 over --requests requests) with --rows (100,000) trials in the database.
 *
 * Flags: --trials N --trainers N --concurrency N (per trainer) --parallel N (maxParallel) --rows N --requests N
 * Targets (issue 2): ≥ 200 trials/s end to end; leaderboard p99 < 20 ms.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { loadConfig } from "../src/config.js";
import { newKey } from "../src/db/projects.js";
import { dropDatabase, migrate } from "../src/db/migrate.js";
import { ensureBackingServices, startWorker, stopWorkers, waitForHttp, type Started } from "../scripts/services.js";

const { values: args } = parseArgs({
  options: {
    trials: { type: "string", default: "2000" },
    trainers: { type: "string", default: "4" },
    concurrency: { type: "string", default: "8" },
    parallel: { type: "string", default: "64" },
    rows: { type: "string", default: "100000" },
    requests: { type: "string", default: "2000" },
  },
});
const N = Number(args.trials);
const base = loadConfig();
await ensureBackingServices(base.DATABASE_URL, base.REDIS_URL);

const dbUrl = new URL(base.DATABASE_URL);
dbUrl.pathname = `/nas_bench_${Date.now()}`;
const DATABASE_URL = dbUrl.toString();
await migrate(DATABASE_URL);
const port = 3900 + Math.floor(Math.random() * 90);
// The API makes this key for itself at start (API_ADMIN_KEY): every request below carries it.
const key = newKey();
const authorized = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
const env = { API_ADMIN_KEY: key, API_ADMIN_PROJECT: "bench", DATABASE_URL, PORT: String(port), QUEUE_PREFIX: `nas_bench_${Date.now()}`, LOG_LEVEL: "warn", TRAINER_CONCURRENCY: args.concurrency!, ORCHESTRATOR_CONCURRENCY: "2",
  // It polls every 50 ms and then reads the leaderboard 2,000 times in a row: no rate limit (bench:api measures it).
  RATE_LIMIT_PER_MINUTE: "0" };
const started: Started[] = [startWorker("api", env), startWorker("orchestrator", env)];
for (let i = 0; i < Number(args.trainers); i++) started.push(startWorker("trainer", env));
const api = `http://127.0.0.1:${port}`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

try {
  await waitForHttp(`${api}/readyz`, started);
  // Let every trainer connect before the clock starts.
  await new Promise((r) => setTimeout(r, 3000));

  // 1. End-to-end throughput.
  const t0 = performance.now();
  const res = await authorized(`${api}/v1/searches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: "bench-pipeline", space: "nasbench201", strategy: { type: "random" }, evaluator: { type: "benchmark", dataset: "cifar10" },
      objective: { metric: "test_accuracy", direction: "maximize" }, budget: { maxTrials: N, maxParallel: Number(args.parallel) }, seed: 1,
    }),
  });
  const { id } = (await res.json()) as { id: string };
  let status = "";
  while (!["completed", "failed", "cancelled"].includes(status)) {
    await new Promise((r) => setTimeout(r, 50));
    status = ((await (await authorized(`${api}/v1/searches/${id}`)).json()) as { status: string }).status;
  }
  const seconds = (performance.now() - t0) / 1000;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ ms: number }>(`SELECT extract(epoch FROM finished_at - queued_at) * 1000 AS ms FROM trials WHERE search_id = $1 AND status = 'completed'`, [id]);
  const overhead = rows.map((r) => Number(r.ms));
  console.log(`pipeline: ${rows.length} trials (${status}) with ${args.trainers} trainers × concurrency ${args.concurrency}, maxParallel ${args.parallel}`);
  console.log(`  end to end: ${seconds.toFixed(2)} s, ${(rows.length / seconds).toFixed(1)} trials/s (target ≥ 200)`);
  console.log(`  per-trial overhead (enqueued → completed): p50 ${pct(overhead, 50).toFixed(1)} ms, p99 ${pct(overhead, 99).toFixed(1)} ms`);

  // 2. Leaderboard latency with many trials: fill up to --rows trials with the same statements' effect.
  const target = Number(args.rows);
  const have = rows.length;
  await client.query(`
    INSERT INTO trials (id, search_id, seq, architecture, arch_hash, status, attempts, metrics, objective, finished_seq, told, queued_at, finished_at)
    SELECT gen_random_uuid(), $1, $2 + g, t.architecture, t.arch_hash, 'completed', 1, jsonb_build_object('test_accuracy', t.objective + (random() - 0.5)),
      t.objective + (random() - 0.5), nextval('trial_finish_order'), true, now(), now()
    FROM generate_series(1, $3) g
    JOIN LATERAL (SELECT architecture, arch_hash, objective FROM trials WHERE search_id = $1 AND status = 'completed' OFFSET (g % $4) LIMIT 1) t ON true`,
    [id, N, Math.max(0, target - have), have]);
  await client.query(`
    INSERT INTO leaderboard_entries AS e (project_id, space, task, metric, arch_hash, score, objective, trial_id, search_id)
    SELECT DISTINCT ON (arch_hash) (SELECT project_id FROM searches WHERE id = $1), 'nasbench201', 'cifar10', 'test_accuracy', arch_hash, objective, objective, id, search_id
    FROM trials WHERE status = 'completed' ORDER BY arch_hash, objective DESC
    ON CONFLICT (project_id, space, task, metric, arch_hash) DO UPDATE SET score = EXCLUDED.score, objective = EXCLUDED.objective, trial_id = EXCLUDED.trial_id
      WHERE e.score < EXCLUDED.score`, [id]);
  await client.query("ANALYZE");
  const total = Number((await client.query(`SELECT count(*) FROM trials`)).rows[0].count);
  await client.end();

  const url = `${api}/v1/leaderboard?space=nasbench201&task=cifar10&limit=20`;
  for (let i = 0; i < 50; i++) await authorized(url).then((r) => r.arrayBuffer()); // warm up
  const lat: number[] = [];
  for (let i = 0; i < Number(args.requests); i++) {
    const s = performance.now();
    const r = await authorized(url);
    await r.arrayBuffer();
    lat.push(performance.now() - s);
  }
  console.log(`leaderboard: ${total} trials in the database, ${args.requests} sequential GET ${url.replace(api, "")}`);
  console.log(`  p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms (target p99 < 20)`);
} finally {
  await stopWorkers(started);
  await dropDatabase(DATABASE_URL);
}
