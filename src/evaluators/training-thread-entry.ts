/**
 * The inside of a training thread (see training-thread.ts): initialises tfjs, then runs the evaluations it is sent
 * (`train` trials, `supernet` jobs), one at a time, in process, reporting progress, logs and the outcome back with
 * the thread's health.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parentPort } from "node:worker_threads";
import { backendLabel, initBackend } from "../models/backend.js";
import { SearchSpace } from "../spaces/space.js";
import { TrialError, TrialStopped } from "./evaluator.js";
import { runSupernetTrial } from "./supernet.js";
import { runTrainTrial } from "./train.js";
import type { EvaluationContext, EvaluationRequest, EvaluationResult } from "./evaluator.js";
import type { FromThread, ThreadEvaluator, ThreadHealth, ThreadRequest, ToThread } from "./training-thread.js";

const EVALUATIONS: Record<ThreadEvaluator, (request: EvaluationRequest<never>, ctx: EvaluationContext) => Promise<EvaluationResult>> = {
  train: runTrainTrial,
  supernet: runSupernetTrial,
};

const port = parentPort!;
const send = (msg: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

let stop = false;
let seq = 0;
const acks = new Map<number, () => void>();

function health(tensorsBefore: number): ThreadHealth {
  const wasm = (tf.engine().backend as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
  return { heapBytes: wasm?.HEAPU8.length ?? 0, leakedTensors: tf.memory().numTensors - tensorsBefore };
}

async function run(evaluator: ThreadEvaluator, request: ThreadRequest): Promise<void> {
  stop = false;
  const tensorsBefore = tf.memory().numTensors;
  try {
    const result = await EVALUATIONS[evaluator](
      { ...request, space: new SearchSpace(request.space) } as EvaluationRequest<never>,
      {
        // Resolved when the trainer has stored the point and consulted the scheduler (its ack may say stop).
        reportProgress: (point) =>
          new Promise<void>((resolve) => {
            const id = seq++;
            acks.set(id, resolve);
            send({ type: "progress", seq: id, point });
          }),
        shouldStop: () => stop,
        log: (message) => send({ type: "log", message }),
      },
    );
    const artifacts = (result.artifacts ?? []).map((a) => ({ name: a.name, contentType: a.contentType, data: new Uint8Array(a.data) }));
    send({ type: "result", metrics: result.metrics, artifacts, health: health(tensorsBefore) }, artifacts.map((a) => a.data.buffer as ArrayBuffer));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ type: "error", error: { name: e.name, message: e.message, trialError: e instanceof TrialError, stopped: e instanceof TrialStopped }, health: health(tensorsBefore) });
  }
}

port.on("message", (msg: ToThread) => {
  switch (msg.type) {
    case "run":
      void run(msg.evaluator, msg.request);
      return;
    case "stop":
      stop = true;
      return;
    case "ack":
      if (msg.stop) stop = true;
      acks.get(msg.seq)?.();
      acks.delete(msg.seq);
      return;
  }
});

await initBackend();
send({ type: "ready", backend: backendLabel() });
