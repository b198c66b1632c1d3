/**
 * Runs training evaluations (`train` trials, `supernet` jobs) in worker threads, so that a trainer survives what
 * training does to a tfjs backend.
 *
 * Why: the wasm backend's heap grows to the largest candidate trained so far and never shrinks (a 4 GiB cap), a
 * failed candidate can leak tensors (an exception inside a gradient escapes tf.tidy), and a wasm abort leaves the
 * backend unusable. Each thread has its own tfjs and wasm heap; after a trial that left the heap above
 * TRAINER_RECYCLE_HEAP_MB, or leaked tensors, the thread is terminated (its memory goes with it) and the next trial
 * starts a fresh one. A thread that dies mid-trial fails the attempt with a transient error, so the trial is
 * retried, not lost. A trial the trainer abandons (past TRIAL_TIMEOUT_S: `ctx.signal` aborts) has its thread
 * terminated at once. Threads are kept between trials otherwise (starting one loads tfjs: about a second).
 *
 * Protocol (training-thread-entry.ts is the other side):
 *   → run {evaluator, request}   ← progress {seq, point} … → ack {seq, stop}    ← log {message}
 *   → stop              ← result {result, health} | error {error, health}
 * A progress point is acknowledged after the trainer stored it and asked the scheduler, so pruning stops the trial
 * at the same step as in-process training would.
 */
import { Worker } from "node:worker_threads";
import { TrialError, TrialStopped, type EvaluationContext, type EvaluationRequest, type EvaluationResult, type Evaluator, type Metrics, type ProgressPoint } from "./evaluator.js";
import type { SpaceDefinition } from "../spaces/definition.js";

/** The request as it crosses into the thread: the search space by its definition. */
export type ThreadRequest = Omit<EvaluationRequest, "space"> & { space: SpaceDefinition };

/** The evaluations a training thread can run (training-thread-entry.ts maps each to its in-process function). */
export type ThreadEvaluator = "train" | "supernet";

/** What the thread tells about itself after each trial. */
export interface ThreadHealth {
  /** Size of the wasm heap (0 on other backends). */
  heapBytes: number;
  /** Live tensors the trial left behind. */
  leakedTensors: number;
}

export interface SerializedError {
  name: string;
  message: string;
  trialError: boolean;
  stopped: boolean;
}

export type ToThread = { type: "run"; evaluator: ThreadEvaluator; request: ThreadRequest } | { type: "stop" } | { type: "ack"; seq: number; stop: boolean };
export type FromThread =
  | { type: "ready"; backend: string }
  | { type: "progress"; seq: number; point: ProgressPoint }
  | { type: "log"; message: string }
  | { type: "result"; metrics: Metrics; artifacts: Array<{ name: string; contentType: string; data: Uint8Array }>; health: ThreadHealth }
  | { type: "error"; error: SerializedError; health: ThreadHealth };

const BOOT = new URL("./training-thread-boot.mjs", import.meta.url);
/** How often a running trial's stop condition (cancel, shutdown) is forwarded to its thread. */
const STOP_POLL_MS = 250;

/** Raised when a training thread dies or cannot start: transient, the trial is retried. */
export class TrainingThreadCrashed extends Error {
  override name = "TrainingThreadCrashed";
}

class TrainingThread {
  private constructor(private readonly worker: Worker) {}

  static start(): Promise<TrainingThread> {
    const worker = new Worker(BOOT); // its console output goes to this process's
    return new Promise((resolve, reject) => {
      const settle = () => worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      const fail = (why: string) => {
        settle();
        void worker.terminate();
        reject(new TrainingThreadCrashed(`the training thread could not start: ${why}`));
      };
      const onMessage = (msg: FromThread) => {
        if (msg.type !== "ready") return fail(`unexpected first message ${msg.type}`);
        settle();
        resolve(new TrainingThread(worker));
      };
      const onError = (err: Error) => fail(err.message);
      const onExit = (code: number) => fail(`it exited with code ${code}`);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    });
  }

  /** Runs one trial; resolves with its outcome (the evaluator's error included) and the thread's health after it. */
  run(evaluator: ThreadEvaluator, request: EvaluationRequest, ctx: EvaluationContext): Promise<{ result?: EvaluationResult; error?: Error; health: ThreadHealth }> {
    const { worker } = this;
    return new Promise((resolve, reject) => {
      let stopSent = false;
      const sendStop = () => {
        if (stopSent || !ctx.shouldStop()) return;
        stopSent = true;
        worker.postMessage({ type: "stop" } satisfies ToThread);
      };
      const poll = setInterval(sendStop, STOP_POLL_MS);
      // An abandoned trial (past TRIAL_TIMEOUT_S) does not get to finish its step: its thread is terminated now.
      const onAbort = () => void worker.terminate();
      const done = () => {
        clearInterval(poll);
        ctx.signal?.removeEventListener("abort", onAbort);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      };
      const onMessage = (msg: FromThread) => {
        switch (msg.type) {
          case "progress":
            Promise.resolve(ctx.reportProgress(msg.point))
              .catch((err: unknown) => ctx.log(`could not record progress: ${String(err)}`))
              .finally(() => worker.postMessage({ type: "ack", seq: msg.seq, stop: ctx.shouldStop() } satisfies ToThread));
            return;
          case "log":
            return ctx.log(msg.message);
          case "result":
            done();
            return resolve({ result: { metrics: msg.metrics, artifacts: msg.artifacts.map((a) => ({ ...a, data: Buffer.from(a.data) })) }, health: msg.health });
          case "error":
            done();
            return resolve({ error: revive(msg.error), health: msg.health });
          case "ready":
            return;
        }
      };
      const onError = (err: Error) => {
        done();
        reject(new TrainingThreadCrashed(`the training thread crashed: ${err.message}`));
      };
      const onExit = (code: number) => {
        done();
        reject(new TrainingThreadCrashed(ctx.signal?.aborted ? "the training thread was terminated: the trial was abandoned" : `the training thread exited (code ${code}) during the trial`));
      };
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      if (ctx.signal?.aborted) return onAbort();
      ctx.signal?.addEventListener("abort", onAbort, { once: true });
      const { space, ...rest } = request;
      worker.postMessage({ type: "run", evaluator, request: { ...rest, space: space.definition } } satisfies ToThread);
    });
  }

  /** An idle thread does not keep the process alive; a running one does. */
  setBusy(busy: boolean): void {
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The evaluator's error as the trainer must see it: TrialError and TrialStopped decide retry and status. */
function revive(e: SerializedError): Error {
  const err = e.stopped ? new TrialStopped(e.message) : e.trialError ? new TrialError(e.message) : new Error(e.message);
  if (!e.stopped && !e.trialError) err.name = e.name;
  return err;
}

/** An evaluator whose trials run in a pool of training threads (one per concurrent trial), recycled as above. */
export class ThreadedEvaluator implements Evaluator {
  private readonly idle: TrainingThread[] = [];
  private readonly busy = new Set<TrainingThread>();
  /** Threads started so far (observability; tests check reuse with it). */
  threadsStarted = 0;

  constructor(
    private readonly recycleHeapBytes: number,
    private readonly evaluator: ThreadEvaluator = "train",
  ) {}

  async evaluate(request: EvaluationRequest, ctx: EvaluationContext): Promise<EvaluationResult> {
    let thread = this.idle.pop();
    if (!thread) {
      this.threadsStarted += 1;
      thread = await TrainingThread.start();
    }
    this.busy.add(thread);
    thread.setBusy(true);
    let keep = false;
    try {
      const { result, error, health } = await thread.run(this.evaluator, request, ctx);
      const heapMiB = Math.round(health.heapBytes / 2 ** 20);
      if (health.leakedTensors > 0) ctx.log(`the trial left ${health.leakedTensors} tensors behind: its training thread is replaced`);
      else if (health.heapBytes > this.recycleHeapBytes) ctx.log(`the wasm heap grew to ${heapMiB} MiB: the training thread is replaced`);
      else keep = true;
      if (error) throw error;
      return result!;
    } finally {
      this.busy.delete(thread);
      thread.setBusy(false);
      if (keep) this.idle.push(thread);
      else await thread.terminate();
    }
  }

  async close(): Promise<void> {
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(all.map((t) => t.terminate()));
  }
}
