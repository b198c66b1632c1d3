/**
 * Prometheus metrics (prom-client), rendered by GET /metrics (routes/metrics.ts):
 *
 *   http_requests_total{method,route,status_code}             requests answered, by route template (not by URL)
 *   http_request_duration_seconds{method,route,status_code}   latency histogram
 *   nas_queue_jobs{queue,state}        BullMQ jobs of the trials, trials-gpu and advance queues: waiting, active,
 *                                      delayed, prioritized, failed
 *   nas_searches{status}               searches by status
 *   nas_trials{status}                 trials of the searches queued or running, by status
 *   nas_trials_finished_total          trials that reached an end state
 *   nas_trainers{kind}                 trainers whose heartbeat is recent (cpu, gpu)
 *   nas_backend_up{service}            1 when the last collection reached PostgreSQL / Redis, else 0
 *   + prom-client's process and Node.js metrics (CPU, memory, event loop lag, GC).
 *
 * Everything is service-wide: nothing names a project, a search or a key. The database and queue figures are
 * collected at most once per COLLECT_EVERY_MS, however often /metrics is called, and each collection gives up after
 * COLLECT_TIMEOUT_MS (a backing service that does not answer is reported down, not waited for).
 */
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { SEARCH_STATUSES, TRIAL_STATUSES } from "../../core/status.js";
import { serviceCounts } from "../../db/metrics.js";
import type { Db } from "../../db/client.js";
import type { Queues } from "../../queue/queues.js";

const COLLECT_EVERY_MS = 5000;
const COLLECT_TIMEOUT_MS = 2000;
const JOB_STATES = ["waiting", "active", "delayed", "prioritized", "failed"] as const;

export interface ApiMetrics {
  readonly contentType: string;
  /** The text exposition of every metric, database and queue figures refreshed if older than COLLECT_EVERY_MS. */
  render(): Promise<string>;
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

/** prom-client's process metrics, registered once per process (several apps may live in one, as in tests). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function registerMetrics(app: FastifyInstance, services: { db: Db; queues: Queues }): void {
  const { db, queues } = services;
  const registers = [new Registry()];
  const registry = registers[0]!;
  const labelNames = ["method", "route", "status_code"] as const;
  const requests = new Counter({ name: "http_requests_total", help: "HTTP requests answered, by method, route template and status", labelNames, registers });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by method, route template and status",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const jobs = new Gauge({ name: "nas_queue_jobs", help: "BullMQ jobs by queue and state", labelNames: ["queue", "state"] as const, registers });
  const searches = new Gauge({ name: "nas_searches", help: "Searches by status", labelNames: ["status"] as const, registers });
  const trials = new Gauge({ name: "nas_trials", help: "Trials of the searches queued or running, by status", labelNames: ["status"] as const, registers });
  const finished = new Gauge({ name: "nas_trials_finished_total", help: "Trials that reached an end state (completed, failed, pruned, cancelled)", registers });
  const trainers = new Gauge({ name: "nas_trainers", help: "Trainers whose heartbeat is recent, by kind", labelNames: ["kind"] as const, registers });
  const up = new Gauge({ name: "nas_backend_up", help: "1 when the last collection of /metrics reached the service, 0 when it did not", labelNames: ["service"] as const, registers });

  app.addHook("onResponse", async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? "(no route)", status_code: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  const collectDb = async () => {
    try {
      const counts = await within(serviceCounts(db), COLLECT_TIMEOUT_MS, "PostgreSQL");
      for (const s of SEARCH_STATUSES) searches.set({ status: s }, counts.searches[s]);
      for (const s of TRIAL_STATUSES) trials.set({ status: s }, counts.activeTrials[s]);
      finished.set(counts.trialsFinished);
      up.set({ service: "postgresql" }, 1);
    } catch {
      for (const g of [searches, trials, finished]) g.reset();
      up.set({ service: "postgresql" }, 0);
    }
  };
  const collectRedis = async () => {
    try {
      const [counts, live] = await within(
        Promise.all([Promise.all([queues.trials, queues.gpuTrials, queues.advance].map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...JOB_STATES) }))), queues.liveTrainers()]),
        COLLECT_TIMEOUT_MS,
        "Redis",
      );
      for (const { queue, counts: c } of counts) for (const state of JOB_STATES) jobs.set({ queue, state }, c[state] ?? 0);
      trainers.set({ kind: "cpu" }, live.cpu);
      trainers.set({ kind: "gpu" }, live.gpu);
      up.set({ service: "redis" }, 1);
    } catch {
      for (const g of [jobs, trainers]) g.reset();
      up.set({ service: "redis" }, 0);
    }
  };
  let last = 0;
  let collecting: Promise<unknown> = Promise.resolve();
  const refresh = () => {
    if (Date.now() - last >= COLLECT_EVERY_MS) {
      last = Date.now();
      collecting = Promise.all([collectDb(), collectRedis()]);
    }
    return collecting;
  };

  app.decorate("metrics", {
    contentType: registry.contentType,
    async render() {
      await refresh();
      return (await processMetrics().metrics()) + "\n" + (await registry.metrics());
    },
  } satisfies ApiMetrics);
}
