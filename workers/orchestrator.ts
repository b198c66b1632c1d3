/**
 * Orchestrator process: advances searches (the only caller of strategies) and reconciles Redis with PostgreSQL.
 * Any number may run; advances of one search are serialised by the queue's per-search deduplication and by a
 * row lock in PostgreSQL.
 *   npm run start:orchestrator
 */
import { Worker } from "bullmq";
import { advanceSearch } from "../src/orchestrator/advance.js";
import { reconcile } from "../src/orchestrator/reconcile.js";
import { ADVANCE_QUEUE, Queues, createRedis, type AdvanceJob } from "../src/queue/queues.js";
import { onShutdown, startProcess } from "./startup.js";

const rt = await startProcess("orchestrator");
const { config, db, spaces, log } = rt;
const connection = createRedis(config.REDIS_URL);
const queues = new Queues(connection, config);

const worker = new Worker<AdvanceJob>(
  ADVANCE_QUEUE,
  async (job) => {
    const outcome = await advanceSearch(db, spaces, job.data.searchId);
    await queues.enqueueTrials(outcome.created);
    if (outcome.status !== "running") log.info({ searchId: job.data.searchId, status: outcome.status }, "search finished");
    return outcome.created.length;
  },
  { connection: createRedis(config.REDIS_URL), prefix: config.QUEUE_PREFIX, concurrency: config.ORCHESTRATOR_CONCURRENCY },
);
worker.on("failed", (job, err) => log.error({ searchId: job?.data.searchId, err: err.message }, "advance failed"));
worker.on("error", (err) => log.error({ err: err.message }, "worker error"));

let sweeping: Promise<unknown> = Promise.resolve();
const sweep = () => {
  sweeping = reconcile(db, queues)
    .then((r) => (r.requeued || r.failed ? log.warn(r, "reconciled lost work") : undefined))
    .catch((err) => log.error({ err: String(err) }, "reconcile failed"));
};
sweep();
const timer = setInterval(sweep, config.RECONCILE_INTERVAL_S * 1000);
log.info({ concurrency: config.ORCHESTRATOR_CONCURRENCY }, "orchestrator ready");

onShutdown(log, async () => {
  clearInterval(timer);
  await sweeping;
  await worker.close();
  await queues.close();
  connection.disconnect();
  await db.$disconnect();
});
