/**
 * What a trainer does with one trial job: claim the trial in PostgreSQL, run its evaluator, store the curve,
 * metrics and artifacts, and ask the orchestrator to advance the search. A trial is completed at most once
 * (conditional update), so duplicate deliveries and retries after a crash are harmless. Jobs (DARTS' supernet)
 * go through the same door: their evaluator comes from the trial row, their result feeds the strategy.
 *
 * Under a scheduler, a trial reports its score at each of its rung budgets and waits for the orchestrator's
 * decision (db/rungs.ts): the trainer never writes its search's row.
 */
import type { Job } from "bullmq";
import type { Config } from "../config.js";
import { classifyError, errorText } from "../core/errors.js";
import type { Db } from "../db/client.js";
import { reportRung, rungDecision, type RungDecision } from "../db/rungs.js";
import { addAlphaSnapshot, addCurvePoints, completeJob, completeTrial, finishTrial, saveArtifacts, startTrial, trialStatus, type TrialRun } from "../db/trials.js";
import type { Evaluator, ProgressPoint } from "../evaluators/evaluator.js";
import { createEvaluator } from "../evaluators/registry.js";
import type { Queues, TrialJob } from "../queue/queues.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";

export interface TrialRunnerDeps {
  db: Db;
  queues: Queues;
  spaces: SpaceRegistry;
  config: Config;
  workerName: string;
  log: (msg: string, extra?: Record<string, unknown>) => void;
}

/** How often a running trial checks whether it was cancelled, and flushes its learning curve. */
const POLL_MS = 2000;
/** How often a trial waiting at a rung looks for the orchestrator's decision (doubling from the first, up to the last). */
const DECISION_POLL_MS = [5, 200] as const;

export class TrialRunner {
  private readonly evaluators = new Map<string, Evaluator>();

  constructor(private readonly deps: TrialRunnerDeps) {}

  private evaluator(type: string): Evaluator | undefined {
    let e = this.evaluators.get(type);
    if (!e) {
      e = createEvaluator(type, this.deps.config);
      if (e) this.evaluators.set(type, e);
    }
    return e;
  }

  async process(job: Job<TrialJob>): Promise<string> {
    const { db, queues, spaces, workerName } = this.deps;
    const { trialId } = job.data;
    const run = await startTrial(db, trialId, workerName);
    if (!run) return "skipped: trial finished or search not active";

    const fail = async (message: string) => {
      if (await finishTrial(db, trialId, "failed", message)) await queues.enqueueAdvance(run.searchId);
    };
    const space = spaces.get(run.space);
    const { type, ...options } = run.evaluator;
    const evaluator = this.evaluator(type);
    if (!space || !evaluator) {
      await fail(!space ? `unknown search space '${run.space}'` : `unknown evaluator '${type}'`);
      return "failed";
    }

    // Progress: curve points are buffered and flushed every POLL_MS, when the trial's status is also checked, so
    // a cancelled trial stops at its next step.
    let stop = false;
    let pending: ProgressPoint[] = [];
    const flush = async () => {
      const points = pending;
      pending = [];
      await addCurvePoints(db, trialId, run.attempt, points);
    };
    const poll = setInterval(() => {
      void (async () => {
        await flush();
        if ((await trialStatus(db, trialId)) !== "running") stop = true;
      })().catch((err) => this.deps.log("progress flush failed", { trialId, err: String(err) }));
    }, POLL_MS);

    const budgets = run.budgets ?? undefined;
    const sign = run.objectiveDirection === "maximize" ? 1 : -1;
    let pruned: { budget: number; objective: number; values: Record<string, number> } | undefined;
    /** Curve points at a rung budget carry the objective (or its validation estimate): the scheduler decides. */
    const reportProgress = async (p: ProgressPoint) => {
      if (p.alphas) await addAlphaSnapshot(db, trialId, run.attempt, p.step, p.alphas);
      if (Object.keys(p.values).length > 0) pending.push({ step: p.step, values: p.values });
      if (!budgets || pruned || !budgets.includes(p.step) || p.step >= budgets.at(-1)!) return;
      const objective = p.values.objective ?? p.values[run.objectiveMetric];
      if (typeof objective !== "number" || !Number.isFinite(objective)) return;
      if ((await this.rungDecision(run, p.step, sign * objective, () => stop)) === "prune") {
        pruned = { budget: p.step, objective, values: p.values };
        stop = true;
      }
    };

    try {
      const result = await evaluator.evaluate(
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
        },
        { shouldStop: () => stop, log: (m: string) => this.deps.log(m, { trialId }), reportProgress },
      );
      clearInterval(poll);
      await flush();
      if (run.kind !== "trial") {
        // A job's metrics feed its strategy; it has no objective and never reaches the leaderboard.
        const searchId = await completeJob(db, trialId, result.metrics);
        if (searchId) await queues.enqueueAdvance(searchId);
        return searchId ? "completed" : "duplicate: already finished";
      }
      const objective = result.metrics[run.objectiveMetric];
      if (typeof objective !== "number" || !Number.isFinite(objective)) {
        await fail(`the evaluator reported no finite '${run.objectiveMetric}' (got ${JSON.stringify(objective)})`);
        return "failed";
      }
      if (result.artifacts?.length) await saveArtifacts(db, trialId, result.artifacts);
      const searchId = await completeTrial(db, trialId, result.metrics, objective);
      if (searchId) await queues.enqueueAdvance(searchId);
      return searchId ? "completed" : "duplicate: already finished";
    } catch (err) {
      clearInterval(poll);
      await flush().catch(() => {});
      const kind = classifyError(err);
      if (kind === "stopped") {
        if (!pruned) return "stopped"; // cancelled: its status says so already
        const { budget, objective, values } = pruned;
        const searchId = await finishTrial(db, trialId, "pruned", null, { metrics: { ...values, budget }, objective });
        if (searchId) await queues.enqueueAdvance(searchId);
        return "pruned";
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (kind === "trial" || lastAttempt) {
        await fail(errorText(err));
        return "failed";
      }
      throw err; // transient: BullMQ retries with backoff
    }
  }

  /**
   * Records the trial's score at a rung, asks the orchestrator to decide and waits for the decision ("continue"
   * if the trial stopped meanwhile, or no longer runs this attempt: it is being stopped either way).
   */
  private async rungDecision(run: TrialRun, budget: number, score: number, stopped: () => boolean): Promise<RungDecision> {
    const { db, queues } = this.deps;
    const reportId = await reportRung(db, run.id, run.attempt, budget, score);
    if (!reportId) return "continue";
    await queues.enqueueAdvance(run.searchId);
    for (let wait: number = DECISION_POLL_MS[0]; !stopped(); wait = Math.min(2 * wait, DECISION_POLL_MS[1])) {
      const decision = await rungDecision(db, reportId);
      if (decision) return decision;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return "continue";
  }

  /** A job that BullMQ gave up on (attempts exhausted or stalled too often) fails its trial. */
  async onJobFailed(job: Job<TrialJob> | undefined, err: Error): Promise<void> {
    if (!job || !(await job.isFailed())) return;
    const searchId = await finishTrial(this.deps.db, job.data.trialId, "failed", errorText(err));
    if (searchId) await this.deps.queues.enqueueAdvance(searchId);
  }

  async close(): Promise<void> {
    for (const e of this.evaluators.values()) await e.close?.();
  }
}

/** Seed of a trial: distinct per trial of a search, reproducible from the search's seed. */
export function trialSeed(searchSeed: number, seq: number): number {
  return (Math.imul(searchSeed ^ 0x5bd1e995, 2654435761) + Math.imul(seq + 1, 40503)) >>> 0;
}
