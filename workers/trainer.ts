/**
 * Trainer process: evaluates trials from the `trials` queue. Start any number, on any machine:
 *   npm run start:trainer
 * SIGTERM finishes the trials in hand (new ones are not taken) and exits; SIGKILL loses nothing: BullMQ's
 * stalled-job check hands the trial to another trainer after JOB_LOCK_MS.
 */
import { Worker } from "bullmq";
import { backendLabel, GPU_BACKENDS, initBackend } from "../src/models/backend.js";
import { GPU_HEARTBEAT_S, GPU_TRIALS_QUEUE, Queues, TRIALS_QUEUE, createRedis, type TrialJob } from "../src/queue/queues.js";
import { TrialRunner } from "../src/trainer/trial-runner.js";
import { die, onShutdown, startProcess } from "./startup.js";

const rt = await startProcess("trainer");
const { config, log } = rt;
const connection = createRedis(config.REDIS_URL);
const queues = new Queues(connection, config);
const runner = new TrialRunner({ ...rt, queues, log: (msg, extra) => log.info(extra ?? {}, msg) });

// The backend decides which queues this trainer serves: a GPU trainer also takes the GPU queue (supernet jobs).
const backend = await initBackend({ force: config.TFJS_BACKEND }).catch((err: Error) => die("trainer", err.message));
const gpu = GPU_BACKENDS.includes(backend);

const workers = [TRIALS_QUEUE, ...(gpu ? [GPU_TRIALS_QUEUE] : [])].map((queue) => {
  const worker = new Worker<TrialJob>(queue, (job) => runner.process(job), {
    connection: createRedis(config.REDIS_URL),
    prefix: config.QUEUE_PREFIX,
    concurrency: config.TRAINER_CONCURRENCY,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.STALLED_INTERVAL_MS,
    maxStalledCount: config.MAX_STALLED_COUNT,
  });
  worker.on("failed", (job, err) => {
    log.warn({ trialId: job?.data.trialId, err: err.message }, "trial job failed");
    runner.onJobFailed(job, err).catch((e) => log.error({ err: String(e) }, "could not record a failed job"));
  });
  worker.on("error", (err) => log.error({ err: err.message }, "worker error"));
  return worker;
});
const announce = () => queues.announceGpuTrainer(rt.workerName).catch((err) => log.warn({ err: String(err) }, "GPU heartbeat failed"));
const heartbeat = gpu ? setInterval(announce, GPU_HEARTBEAT_S * 1000) : undefined;
if (gpu) await announce();
log.info({ worker: rt.workerName, concurrency: config.TRAINER_CONCURRENCY, backend: backendLabel(), gpu }, "trainer ready");

onShutdown(log, async () => {
  clearInterval(heartbeat);
  await Promise.all(workers.map((w) => w.close())); // waits for the jobs in hand
  await runner.close();
  await queues.close();
  connection.disconnect();
  await rt.db.$disconnect();
});
