/**
 * What a trainer does with a retrain job (POST /v1/searches/:id/retrain): train the search's best architecture for
 * the requested steps on the training and validation data together (`final` evaluation), score it on the test
 * data, and store the model's files and scores (db/models.ts: status ready) — or failed, with the reason.
 *
 * The model trains with the `train` evaluator exactly as its trial did (the search's options, the architecture's
 * training decisions, the trial's seed, in a training thread on wasm), except for its steps (the request's; a
 * `train.steps` decision gives way) and its data. Errors decide retry as for trials: the model's own fault
 * (TrialError) fails it at once; another error is retried up to TRIAL_ATTEMPTS (BullMQ), PostgreSQL or Redis being
 * unreachable included; a trainer killed mid-job hands it to another (stalled-job check).
 */
import { UnrecoverableError, type Job } from "bullmq";
import type { Config } from "../config.js";
import { classifyError, errorText, TrialTimeout } from "../core/errors.js";
import type { Db } from "../db/client.js";
import { claimModel, failModel, finishModel } from "../db/models.js";
import type { Evaluator } from "../evaluators/evaluator.js";
import { createEvaluator } from "../evaluators/registry.js";
import type { RetrainJob } from "../queue/queues.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import { TRAIN_PREFIX } from "../spaces/training-decisions.js";
import { splitModelFiles } from "../evaluators/model-files.js";
import { datasetForSearch } from "./datasets.js";
import { trialSeed } from "./trial-runner.js";

export interface RetrainDeps {
  db: Db;
  spaces: SpaceRegistry;
  config: Config;
  workerName: string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

export class RetrainRunner {
  private evaluator?: Evaluator;

  constructor(private readonly deps: RetrainDeps) {}

  async process(job: Job<RetrainJob>): Promise<string> {
    const { db, spaces, config, workerName, log } = this.deps;
    const { modelId } = job.data;
    const run = await claimModel(db, modelId, workerName);
    if (!run) return "skipped: model finished";
    const fail = async (why: string) => {
      await failModel(db, modelId, why);
      log("model failed", { modelId, error: why });
      return "failed";
    };
    const space = spaces.resolve(run.space, run.spaceDefinition);
    const { type, ...options } = run.evaluator;
    if (!space) return fail(`unknown search space '${run.space}'`);
    if (type !== "train") return fail(`the search's evaluator is '${type}': only train searches have models to retrain`);
    this.evaluator ??= createEvaluator("train", config)!;
    // The uploaded dataset the search trained on, split by the search's seed as its trials were (trainer/datasets.ts);
    // one deleted since is the model's fault (TrialError: failed, not retried).
    let dataset;
    try {
      dataset = await datasetForSearch(db, config, run.searchId, options, run.seed);
    } catch (err) {
      if (classifyError(err) === "trial") return fail(errorText(err));
      throw err;
    }

    // The request's steps replace the search's budget and a train.steps decision; other training decisions stay.
    const architecture = Object.fromEntries(Object.entries(run.architecture as Architecture).filter(([k]) => k !== `${TRAIN_PREFIX}steps`)) as Architecture;
    const { seconds } = (options.budget as { seconds?: number } | undefined) ?? {};
    const abort = new AbortController();
    const limitMs = config.TRIAL_TIMEOUT_S * 1000;
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    log("retraining", { modelId, searchId: run.searchId, steps: run.steps, attempt: run.attempt });
    try {
      const evaluation = this.evaluator.evaluate(
        {
          trialId: modelId,
          searchId: run.searchId,
          attempt: run.attempt,
          space,
          architecture,
          config: { ...options, budget: { steps: run.steps, ...(seconds !== undefined ? { seconds } : {}) } },
          objective: { metric: run.objectiveMetric, direction: run.objectiveDirection },
          seed: trialSeed(run.seed, run.trialSeq ?? 0),
          final: true,
          ...(dataset ? { dataset } : {}),
        },
        { shouldStop: () => abort.signal.aborted, log: (m: string) => log(m, { modelId }), reportProgress: () => {}, signal: abort.signal },
      );
      const timedOut = new Promise<never>((_, reject) => {
        if (limitMs > 0) timer = setTimeout(() => reject(new TrialTimeout(`retraining ran longer than TRIAL_TIMEOUT_S = ${config.TRIAL_TIMEOUT_S} s`)), limitMs);
      });
      const result = await Promise.race([evaluation, timedOut]).finally(() => clearTimeout(timer));
      const { model } = splitModelFiles(result.artifacts ?? []);
      if (!model) return fail("the trainer produced no model files");
      const metrics = { ...result.metrics, retrain_time_s: (Date.now() - started) / 1000 };
      await finishModel(db, modelId, metrics, model);
      log("model ready", { modelId });
      return "ready";
    } catch (err) {
      if (err instanceof TrialTimeout) abort.abort(err);
      const kind = classifyError(err);
      if (kind === "trial" || kind === "stopped") {
        await fail(errorText(err));
        throw new UnrecoverableError(errorText(err));
      }
      throw err; // transient or an outage: BullMQ retries with backoff; onFailed fails the model after the last
    }
  }

  /** A job BullMQ gave up on (attempts exhausted) fails its model. */
  async onJobFailed(job: Job<RetrainJob> | undefined, err: Error): Promise<void> {
    if (!job || !(await job.isFailed())) return;
    await failModel(this.deps.db, job.data.modelId, errorText(err));
  }

  async close(): Promise<void> {
    await this.evaluator?.close?.();
  }
}
