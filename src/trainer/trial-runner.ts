/**
 * What a trainer does with one trial job: claim the trial in PostgreSQL, run its evaluator, store the curve,
 * metrics and artifacts, and ask the orchestrator to advance the search. A trial is completed at most once
 * (conditional update), so duplicate deliveries and retries after a crash are harmless. Jobs (DARTS' supernet)
 * go through the same door: their evaluator comes from the trial row, their result feeds the strategy.
 *
 * Under a scheduler, a trial reports its score at each of its rung budgets and waits for the orchestrator's
 * decision (db/rungs.ts): the trainer never writes its search's row.
 *
 * What fails a trial, and what does not (README, "Faults"):
 *   - its own fault (TrialError: it cannot be built, diverged, ran out of memory, ran past TRIAL_TIMEOUT_S), or a
 *     transient error (a crashed training thread) on its last of TRIAL_ATTEMPTS: failed, told to its strategy,
 *     counted in its search's maxFailures;
 *   - PostgreSQL or Redis unreachable: never. Every statement of a trial in hand (start, curve, rung report and
 *     decision, completion, artifacts) is retried with backoff (core/infra.ts) for up to INFRA_RETRY_MAX_S, the
 *     outage logged once; past that the job is handed back (delayed, no attempt counted) and runs again later;
 *   - its trainer's death: BullMQ's stalled-job check hands the job to another trainer, without limit; the runner
 *     counts the deaths in a row (the job's stalls since an attempt last ended with its trainer alive) and fails
 *     the trial, saying so, once there were more than MAX_STALLED_COUNT, so that a trial that reliably kills its
 *     trainer does not loop forever. (A Redis outage longer than JOB_LOCK_MS also lets a lock expire, and counts.)
 */
import type { Job } from "bullmq";
import { architectureCosts } from "../catalogue/architecture-costs.js";
import type { Config } from "../config.js";
import { classifyError, errorText, isInfraError, TrialTimeout, type InfraService } from "../core/errors.js";
import { createOutages, infraBackoff, retryInfra, type Outages } from "../core/infra.js";
import type { Db } from "../db/client.js";
import { reportRungOnce, rungDecision, type RungDecision } from "../db/rungs.js";
import { addAlphaSnapshot, addCurvePoints, completeJob, completeTrial, finishTrial, saveArtifacts, startTrial, trialStatus, type TrialRun } from "../db/trials.js";
import type { Evaluator, ProgressPoint } from "../evaluators/evaluator.js";
import { createEvaluator } from "../evaluators/registry.js";
import { keepTrialWeights } from "../db/models.js";
import { retryLater, type Queues, type TrialJob } from "../queue/queues.js";
import { splitModelFiles } from "../evaluators/model-files.js";
import { datasetForSearch } from "./datasets.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";

export interface TrialRunnerDeps {
  db: Db;
  queues: Queues;
  spaces: SpaceRegistry;
  config: Config;
  workerName: string;
  /** The tfjs backend this trainer runs (models/backend.ts backendLabel), stored with each trial it starts. */
  backend?: string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  /** Where the runner says, at debug level, which statement of a trial waits for a service to come back. */
  debug?: (msg: string, extra?: Record<string, unknown>) => void;
  /** The process's PostgreSQL and Redis outage trackers (each outage logged once); the runner's own by default. */
  outages?: Outages;
}

/** How often a running trial checks whether it was cancelled, and flushes its learning curve. */
const POLL_MS = 2000;
/** How often a trial waiting at a rung looks for the orchestrator's decision (doubling from the first, up to the last). */
const DECISION_POLL_MS = [5, 200] as const;
/** How long recording a job's stall count may wait for Redis (best effort: not worth holding the job for). */
const ALIVE_RECORD_MS = 5000;

export class TrialRunner {
  private readonly evaluators = new Map<string, Evaluator>();
  private readonly outages: Outages;

  constructor(private readonly deps: TrialRunnerDeps) {
    this.outages = deps.outages ?? createOutages({ warn: (o, m) => deps.log(m, { ...o }), info: (o, m) => deps.log(m, { ...o }) });
  }

  private evaluator(type: string): Evaluator | undefined {
    let e = this.evaluators.get(type);
    if (!e) {
      e = createEvaluator(type, this.deps.config);
      if (e) this.evaluators.set(type, e);
    }
    return e;
  }

  /** Runs one statement of work in hand against a service, riding out an outage of it (up to INFRA_RETRY_MAX_S). */
  private retry<T>(service: InfraService, what: string, fn: () => Promise<T>): Promise<T> {
    const outage = service === "PostgreSQL" ? this.outages.postgres : this.outages.redis;
    const onRetry = (err: unknown) => this.deps.debug?.(`retrying until ${service} is back: ${what}`, { err: String((err as Error)?.message ?? err) });
    return retryInfra(what, fn, { service, outage, maxMs: this.deps.config.INFRA_RETRY_MAX_S * 1000, onRetry });
  }

  private pg<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.retry("PostgreSQL", what, fn);
  }

  private redis<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.retry("Redis", what, fn);
  }

  /**
   * The processor of a trial job. Work that met an outage longer than INFRA_RETRY_MAX_S is handed back to the queue
   * (delayed, no attempt counted; the trial stays as it is in PostgreSQL and is started again later).
   */
  async process(job: Job<TrialJob>, token?: string): Promise<string> {
    try {
      return await this.run(job);
    } catch (err) {
      if (classifyError(err) !== "infra") throw err;
      const delayMs = infraBackoff(Number.MAX_SAFE_INTEGER);
      this.deps.log("trial handed back: PostgreSQL or Redis unavailable", { trialId: job.data.trialId, err: String((err as Error).message), delayMs });
      await this.aliveAfterAttempt(job);
      return retryLater(job, token, delayMs, this.deps.config.INFRA_RETRY_MAX_S * 1000);
    }
  }

  private async run(job: Job<TrialJob>): Promise<string> {
    const { db, queues, spaces, workerName, config } = this.deps;
    const { trialId } = job.data;

    // Its trainers died this many times in a row while running it (its job stalled and came back).
    const deaths = (job.stalledCounter ?? 0) - (job.data.stalledBase ?? 0);
    if (deaths > config.MAX_STALLED_COUNT) {
      const reason = `its trainer died ${deaths} times in a row while running it (the job stalled; more than MAX_STALLED_COUNT = ${config.MAX_STALLED_COUNT})`;
      const searchId = await this.pg("fail the trial", () => finishTrial(db, trialId, "failed", reason));
      if (searchId) await this.redis("enqueue an advance", () => queues.enqueueAdvance(searchId));
      return "failed: its trainer died too often";
    }

    const run = await this.pg("start the trial", () => startTrial(db, trialId, workerName, this.deps.backend ?? null));
    if (!run) return "skipped: trial finished or search not active";
    // One line at the default level (info) when a trial starts and one when it ends, naming trial, search and
    // architecture, so that an operator follows trials in the trainers' logs without raising the level.
    const startedAt = Date.now();
    const who = { trialId, searchId: run.searchId, archHash: run.archHash, kind: run.kind, attempt: run.attempt };
    this.deps.log("trial started", { ...who, backend: this.deps.backend ?? null });
    const ended = (status: string, extra: Record<string, unknown> = {}) => this.deps.log(`trial ${status}`, { ...who, durationS: Math.round((Date.now() - startedAt) / 100) / 10, ...extra });

    const advance = () => this.redis("enqueue an advance", () => queues.enqueueAdvance(run.searchId));
    const fail = async (message: string) => {
      if (await this.pg("fail the trial", () => finishTrial(db, trialId, "failed", message))) {
        ended("failed", { error: message.slice(0, 300) });
        await advance();
      }
    };
    const space = spaces.resolve(run.space, run.spaceDefinition);
    const { type, ...options } = run.evaluator;
    const evaluator = this.evaluator(type);
    if (!space || !evaluator) {
      await fail(!space ? `unknown search space '${run.space}'` : `unknown evaluator '${type}'`);
      return "failed";
    }
    // An uploaded dataset the options name: cached on this machine's disk (trainer/datasets.ts), split by the search's seed.
    let dataset;
    try {
      // (The benchmark evaluator's `dataset` is its lookup table's name, e.g. "cifar10", never an uploaded dataset.)
      if (type !== "benchmark") dataset = await this.pg("read the trial's dataset", () => datasetForSearch(db, config, run.searchId, options, run.seed));
    } catch (err) {
      if (classifyError(err) === "infra") throw err; // handed back by process()
      await fail(errorText(err));
      return "failed";
    }

    // Progress: curve points are buffered and flushed every POLL_MS, when the trial's status is also checked, so
    // a cancelled trial stops at its next step. While PostgreSQL is unreachable the points stay buffered (the
    // outage is logged once) and the trial goes on; the last flush, after the evaluation, retries until stored.
    let stop = false;
    let pending: ProgressPoint[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const points = pending;
      pending = [];
      try {
        await addCurvePoints(db, trialId, run.attempt, points);
      } catch (err) {
        pending = [...points, ...pending];
        throw err;
      }
    };
    let polling: Promise<void> = Promise.resolve();
    let pollBusy = false;
    const poll = setInterval(() => {
      if (pollBusy) return;
      pollBusy = true;
      polling = (async () => {
        await flush();
        if ((await trialStatus(db, trialId)) !== "running") stop = true;
      })()
        .catch((err: unknown) => (isInfraError(err) ? this.outages.postgres.failed(err) : this.deps.log("progress flush failed", { trialId, err: String(err) })))
        .finally(() => (pollBusy = false));
    }, POLL_MS);

    // The evaluation's clock (TRIAL_TIMEOUT_S) stops while the trainer stores its progress or waits at a rung: that
    // time is the trainer's (and its services'), not the trial's.
    let pausedMs = 0;
    let pausedSince: number | undefined;
    let abandoned = false;
    const budgets = run.budgets ?? undefined;
    const sign = run.objectiveDirection === "maximize" ? 1 : -1;
    let pruned: { budget: number; objective: number; values: Record<string, number> } | undefined;
    /** Curve points at a rung budget carry the objective (or its validation estimate): the scheduler decides. */
    const reportProgress = async (p: ProgressPoint) => {
      if (abandoned) return;
      pausedSince ??= Date.now();
      try {
        if (p.alphas) await this.pg("store α", () => addAlphaSnapshot(db, trialId, run.attempt, p.step, p.alphas!));
        if (Object.keys(p.values).length > 0) pending.push({ step: p.step, values: p.values });
        if (!budgets || pruned || !budgets.includes(p.step) || p.step >= budgets.at(-1)!) return;
        const objective = p.values.objective ?? p.values[run.objectiveMetric];
        if (typeof objective !== "number" || !Number.isFinite(objective)) return;
        if ((await this.rungDecision(run, p.step, sign * objective, () => stop)) === "prune") {
          pruned = { budget: p.step, objective, values: p.values };
          stop = true;
        }
      } finally {
        pausedMs += Date.now() - pausedSince;
        pausedSince = undefined;
      }
    };

    const abort = new AbortController();
    const limitMs = config.TRIAL_TIMEOUT_S * 1000;
    const started = Date.now();
    const evaluation = evaluator.evaluate(
      {
        trialId,
        searchId: run.searchId,
        attempt: run.attempt,
        space,
        architecture: run.architecture as Architecture,
        config: options,
        objective: { metric: run.objectiveMetric, direction: run.objectiveDirection },
        seed: trialSeed(run.seed, run.seq),
        budgets,
        ...(dataset ? { dataset } : {}),
      },
      { shouldStop: () => stop, log: (m: string) => this.deps.log(m, { trialId }), reportProgress, signal: abort.signal },
    );
    const timedOut = new Promise<never>((_, reject) => {
      if (limitMs <= 0) return;
      const check = () => {
        const used = Date.now() - started - pausedMs - (pausedSince !== undefined ? Date.now() - pausedSince : 0);
        if (used < limitMs) return void (timer = setTimeout(check, limitMs - used));
        reject(new TrialTimeout(`the evaluation ran longer than TRIAL_TIMEOUT_S = ${config.TRIAL_TIMEOUT_S} s`));
      };
      let timer = setTimeout(check, limitMs);
      void evaluation.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    });

    const stopPolling = async () => {
      clearInterval(poll);
      await polling;
    };
    try {
      const result = await Promise.race([evaluation, timedOut]);
      await stopPolling();
      await this.pg("store the learning curve", flush);
      if (run.kind !== "trial") {
        // A job's metrics feed its strategy; it has no objective and never reaches the leaderboard.
        const searchId = await this.pg("complete the job", () => completeJob(db, trialId, result.metrics));
        if (searchId) ended("completed");
        await advance(); // also after a duplicate: a retried completion may have been the one that committed
        return searchId ? "completed" : "duplicate: already finished";
      }
      // The costs known before training (parameters, FLOPs) are stored with every trial's metrics, so that objectives,
      // constraints and Pareto fronts can name them whatever the evaluator reports; the evaluator's own values win.
      const metrics = { ...architectureCosts(space, run.architecture as Architecture, run.evaluator), ...result.metrics };
      const objective = metrics[run.objectiveMetric];
      if (typeof objective !== "number" || !Number.isFinite(objective)) {
        await fail(`the evaluator reported no finite '${run.objectiveMetric}' (got ${JSON.stringify(objective)})`);
        return "failed";
      }
      // The trained model's files (model.json, weights.bin) are kept as the trial's weights while it is among its
      // search's best SEARCH_KEEP_TOP_K (db/models.ts); the other artifacts are the trial's files.
      const { model, files } = splitModelFiles(result.artifacts ?? []);
      if (files.length) await this.pg("store the artifacts", () => saveArtifacts(db, trialId, files));
      if (model) await this.pg("keep the trained weights", () => keepTrialWeights(db, trialId, objective, model, config.SEARCH_KEEP_TOP_K));
      const searchId = await this.pg("complete the trial", () => completeTrial(db, trialId, metrics, objective));
      if (searchId) ended("completed", { objective, metric: run.objectiveMetric });
      await advance();
      return searchId ? "completed" : "duplicate: already finished";
    } catch (err) {
      if (err instanceof TrialTimeout) {
        // Abandoned: asked to stop, its thread (if any) terminated, its result no longer awaited.
        abandoned = true;
        stop = true;
        abort.abort(err);
        evaluation.catch(() => {});
      }
      await stopPolling();
      await flush().catch(() => {});
      const kind = classifyError(err);
      if (kind === "infra") throw err; // handed back by process()
      if (kind === "stopped") {
        if (!pruned) {
          ended("stopped", { reason: "cancelled" });
          return "stopped"; // cancelled: its status says so already
        }
        const { budget, objective, values } = pruned;
        const searchId = await this.pg("record the pruning", () => finishTrial(db, trialId, "pruned", null, { metrics: { ...values, budget }, objective }));
        if (searchId) {
          ended("pruned", { objective, metric: run.objectiveMetric, budget });
          await advance();
        }
        return "pruned";
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (kind === "trial" || lastAttempt) {
        await fail(errorText(err));
        return "failed";
      }
      await this.aliveAfterAttempt(job);
      throw err; // transient: BullMQ retries with backoff
    }
  }

  /**
   * Records that an attempt of the job ended with its trainer alive (a retry, a hand-back): the job's stalls so far
   * are not deaths in a row any more. Best effort (Redis may be the service that is down).
   */
  private async aliveAfterAttempt(job: Job<TrialJob>): Promise<void> {
    const stalled = job.stalledCounter ?? 0;
    if (stalled === (job.data.stalledBase ?? 0)) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([job.updateData({ ...job.data, stalledBase: stalled }).catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ALIVE_RECORD_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Records the trial's score at a rung, asks the orchestrator to decide and waits for the decision ("continue"
   * if the trial stopped meanwhile, or no longer runs this attempt: it is being stopped either way). While
   * PostgreSQL is unreachable the wait goes on (the decision is read again when it is back).
   */
  private async rungDecision(run: TrialRun, budget: number, score: number, stopped: () => boolean): Promise<RungDecision> {
    const { db, queues } = this.deps;
    const reportId = await this.pg("report a rung score", () => reportRungOnce(db, run.id, run.attempt, budget, score));
    if (!reportId) return "continue";
    await this.redis("enqueue an advance", () => queues.enqueueAdvance(run.searchId));
    for (let wait: number = DECISION_POLL_MS[0]; !stopped(); wait = Math.min(2 * wait, DECISION_POLL_MS[1])) {
      const decision = await rungDecision(db, reportId).catch((err: unknown) => {
        if (!isInfraError(err)) throw err;
        this.outages.postgres.failed(err);
        return null;
      });
      if (decision) return decision;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return "continue";
  }

  /** A job that BullMQ gave up on (attempts exhausted) fails its trial. */
  async onJobFailed(job: Job<TrialJob> | undefined, err: Error): Promise<void> {
    if (!job || !(await this.redis("read the job's state", () => job.isFailed()))) return;
    const searchId = await this.pg("fail the trial", () => finishTrial(this.deps.db, job.data.trialId, "failed", errorText(err)));
    if (searchId) await this.redis("enqueue an advance", () => this.deps.queues.enqueueAdvance(searchId));
  }

  async close(): Promise<void> {
    for (const e of this.evaluators.values()) await e.close?.();
  }
}

/** Seed of a trial: distinct per trial of a search, reproducible from the search's seed. */
export function trialSeed(searchSeed: number, seq: number): number {
  return (Math.imul(searchSeed ^ 0x5bd1e995, 2654435761) + Math.imul(seq + 1, 40503)) >>> 0;
}
