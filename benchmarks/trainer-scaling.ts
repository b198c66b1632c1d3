/**
 * `npm run bench:train -- --trainers 1,2`: trials per hour of a training search with one trainer process, then with
 * two (issue 17's target: two trainers on two cores deliver ≥ 1.8 × the trials per hour of one).
 *
 * For each trainer count: a fresh database and queue prefix, the API, one orchestrator and N trainer processes
 * (workers/*.ts, as in production), then one random search over `transformer-lm` with the `train` evaluator on the
 * char-LM task at the evaluator's defaults (--trials trials of --steps steps each, maxParallel = 2·N so no trainer
 * waits for the orchestrator).
 * The clock starts at POST /v1/searches after every trainer has announced itself, and stops when the search ends;
 * trials per hour = completed trials / that time. The same seed gives the same architectures for every N.
 *
 * Each trainer trains on one thread (the wasm backend is single-threaded; OpenBLAS is held to one thread by the
 * addon), so N trainers use N cores. On a machine shared with other work the figure measures the share it got.
 *
 * Flags of bench:train that apply: --scaling-trials N (16) --scaling-steps N (100) --json
 */
import { loadConfig } from "../src/config.js";
import { newKey } from "../src/db/projects.js";
import { dropDatabase, migrate } from "../src/db/migrate.js";
import { ensureBackingServices, startWorker, stopWorkers, waitForHttp, type Started } from "../scripts/services.js";

export interface ScalingPoint {
  trainers: number;
  trials: number;
  seconds: number;
  trialsPerHour: number;
  /** Trials each trainer completed (worker name → count). */
  perWorker: Record<string, number>;
  /** Σ over trials of (finished − started) / (seconds × trainers): how much of the trainers' time went into trials. */
  busyFraction: number;
  /** The longest trial's seconds (what the last trainer to finish may run alone). */
  longestTrial: number;
  /** Mean seconds per trial. */
  meanTrial: number;
}

async function measure(trainers: number, opts: { trials: number; steps: number }): Promise<ScalingPoint> {
  const base = loadConfig();
  const stamp = `${Date.now()}_${trainers}`;
  const dbUrl = new URL(base.DATABASE_URL);
  dbUrl.pathname = `/nas_scaling_${stamp}`;
  const DATABASE_URL = dbUrl.toString();
  await migrate(DATABASE_URL);
  const key = newKey();
  const port = 3900 + Math.floor(Math.random() * 90);
  const env = { API_ADMIN_KEY: key, API_ADMIN_PROJECT: "bench", DATABASE_URL, PORT: String(port), QUEUE_PREFIX: `nas_scaling_${stamp}`, LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0" };
  const started: Started[] = [startWorker("api", env), startWorker("orchestrator", env)];
  for (let i = 0; i < trainers; i++) started.push(startWorker("trainer", { ...env, WORKER_NAME: `scaling-${i + 1}` }));
  const api = `http://127.0.0.1:${port}`;
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${api}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers } });
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    await waitForHttp(`${api}/readyz`, started);
    // Every trainer has loaded tfjs and announced itself (GET /v1/workers) before the clock starts.
    const deadline = Date.now() + 180_000;
    while (((await call("/v1/workers")).items as unknown[] | undefined)?.length !== trainers) {
      if (Date.now() > deadline) throw new Error(`only some of the ${trainers} trainers announced themselves within 3 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const t0 = performance.now();
    const created = await call("/v1/searches", {
      method: "POST",
      body: JSON.stringify({
        name: `bench-trainer-scaling-${trainers}`, space: "transformer-lm", strategy: { type: "random" },
        evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: opts.steps }, sampleLength: 0 },
        objective: { metric: "val_bpc", direction: "minimize" },
        budget: { maxTrials: opts.trials, maxParallel: 2 * trainers }, seed: 17,
      }),
    });
    if (typeof created.id !== "string") throw new Error(`POST /v1/searches: ${JSON.stringify(created)}`);
    let status = "";
    while (!["completed", "failed", "cancelled"].includes(status)) {
      await new Promise((r) => setTimeout(r, 200));
      status = String((await call(`/v1/searches/${created.id}`)).status);
    }
    const seconds = (performance.now() - t0) / 1000;
    const trials = ((await call(`/v1/searches/${created.id}/trials?limit=1000`)).items ?? []) as Array<{ status: string; worker?: string | null; startedAt: string | null; finishedAt: string | null }>;
    const done = trials.filter((t) => t.status === "completed");
    const perWorker: Record<string, number> = {};
    for (const t of done) perWorker[t.worker ?? "?"] = (perWorker[t.worker ?? "?"] ?? 0) + 1;
    const durations = done.map((t) => (t.startedAt && t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : 0));
    const busy = durations.reduce((a, b) => a + b, 0);
    return {
      trainers, trials: done.length, seconds, trialsPerHour: (3600 * done.length) / seconds, perWorker,
      busyFraction: busy / (seconds * trainers), longestTrial: Math.max(0, ...durations), meanTrial: durations.length ? busy / durations.length : 0,
    };
  } finally {
    await stopWorkers(started);
    await dropDatabase(DATABASE_URL).catch(() => {});
  }
}

/** Measures each trainer count of `list` ("1,2") in turn and prints trials per hour and the scaling ratio. */
export async function runTrainerScaling(list: string, opts: { json?: boolean; trials?: number; steps?: number } = {}): Promise<ScalingPoint[]> {
  const counts = list.split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0);
  if (counts.length === 0) throw new Error(`--trainers ${list}: expected trainer counts such as 1,2`);
  const base = loadConfig();
  await ensureBackingServices(base.DATABASE_URL, base.REDIS_URL);
  const trials = opts.trials ?? 16;
  const steps = opts.steps ?? 100;
  console.log(`trainer scaling: a transformer-lm random search of ${trials} trials × ${steps} steps (the train evaluator's defaults: batch 12 × 64 tokens) per trainer count`);
  const points: ScalingPoint[] = [];
  for (const n of counts) {
    const p = await measure(n, { trials, steps });
    points.push(p);
    console.log(
      `  ${n} trainer${n > 1 ? "s" : ""}: ${p.trials} trials in ${p.seconds.toFixed(1)} s = ${p.trialsPerHour.toFixed(0)} trials/hour (per trainer: ${JSON.stringify(p.perWorker)}; ` +
        `trials ${p.meanTrial.toFixed(1)} s on average, longest ${p.longestTrial.toFixed(1)} s; trainers busy ${(100 * p.busyFraction).toFixed(0)} % of the time)`,
    );
  }
  const one = points.find((p) => p.trainers === 1);
  for (const p of points) {
    if (one && p !== one) console.log(`  ${p.trainers} trainers / 1 trainer: ${(p.trialsPerHour / one.trialsPerHour).toFixed(2)}× trials per hour (target ≥ ${(0.9 * p.trainers).toFixed(1)}× for ${p.trainers})`);
  }
  if (opts.json) {
    const scaling = one ? Object.fromEntries(points.filter((p) => p !== one).map((p) => [String(p.trainers), +(p.trialsPerHour / one.trialsPerHour).toFixed(3)])) : {};
    console.log(JSON.stringify({ trialsPerHour: Object.fromEntries(points.map((p) => [String(p.trainers), Math.round(p.trialsPerHour)])), scaling }));
  }
  return points;
}
