/**
 * What a trainer does with one trial job: claim the trial in PostgreSQL, run its evaluator, store the curve,
 * metrics and artifacts, and ask the orchestrator to advance the search. A trial is completed at most once
 * (conditional update), so duplicate deliveries and retries after a crash are harmless.
 */
import type { Job } from "bullmq";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { Prisma } from "../db/generated/client.js";
import { addAlphaSnapshot, addCurvePoints, completeJob, completeTrial, finishTrial, saveArtifacts, startTrial, trialStatus } from "../db/trials.js";
import { runSupernetJob } from "../evaluators/train-supernet.js";
import { TrialError, TrialStopped, type Evaluator, type EvaluatorDefinition, type ProgressPoint } from "../evaluators/evaluator.js";
import { evaluatorDefinition, type EvaluatorConfig } from "../evaluators/registry.js";
import type { Queues, TrialJob } from "../queue/queues.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import { reportToScheduler, trialBudgets } from "./scheduling.js";

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

export class TrialRunner {
  private readonly evaluators = new Map<string, Evaluator>();

  constructor(private readonly deps: TrialRunnerDeps) {}

  private evaluator(def: EvaluatorDefinition): Evaluator {
    let e = this.evaluators.get(def.type);
    if (!e) {
      e = def.create(this.deps.config);
      this.evaluators.set(def.type, e);
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
    const { type, ...evaluatorConfig } = run.evaluator as EvaluatorConfig;
    const def = evaluatorDefinition(type);
    if (!space || !def) {
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
    const ctx = { shouldStop: () => stop, log: (m: string) => this.deps.log(m, { trialId }) };

    let pruned: { budget: number; objective: number; values: Record<string, number> } | undefined;
    try {
      if (run.kind === "supernet") {
        const { type: _strategy, ...darts } = run.strategy as { type: string };
        const result = await runSupernetJob(
          { space, darts, train: evaluatorConfig, seed: trialSeed(run.seed, run.seq) },
          { ...ctx, reportProgress: (p) => void pending.push(p), reportAlphas: (step, alphas) => addAlphaSnapshot(db, trialId, run.attempt, step, alphas) },
        );
        clearInterval(poll);
        await flush();
        const searchId = await completeJob(db, trialId, {
          note: "supernet_val_loss is the supernet's loss, not the score of any architecture: the derived architectures are retrained from scratch as trials",
          supernet_val_loss: result.supernetValLoss,
          supernet_params: result.supernetParams,
          steps: result.steps,
          wall_time_s: result.wallTimeS,
          stopped_early: result.stoppedEarly ?? null,
          alphas: result.alphas,
          derived: result.derived,
          derivation: result.derivation,
          notes: result.notes,
        } as unknown as Prisma.InputJsonValue);
        if (searchId) await queues.enqueueAdvance(searchId);
        return "completed";
      }

      const budgets = run.scheduler ? await trialBudgets(db, run.searchId, trialId) : undefined;
      const sign = run.objectiveDirection === "maximize" ? 1 : -1;
      /** Curve points at a scheduler budget carry the objective (or its validation estimate): the scheduler decides. */
      const reportProgress = async (p: ProgressPoint) => {
        pending.push(p);
        if (!budgets || pruned || !budgets.includes(p.step) || p.step >= budgets.at(-1)!) return;
        const objective = p.values.objective ?? p.values[run.objectiveMetric];
        if (typeof objective !== "number" || !Number.isFinite(objective)) return;
        if ((await reportToScheduler(db, run.searchId, trialId, p.step, sign * objective)) === "prune") {
          pruned = { budget: p.step, objective, values: p.values };
          stop = true;
        }
      };
      const result = await this.evaluator(def).evaluate(
        {
          trialId,
          searchId: run.searchId,
          attempt: run.attempt,
          space,
          architecture: run.architecture as Architecture,
          config: def.config.parse(evaluatorConfig),
          objective: { metric: run.objectiveMetric, direction: run.objectiveDirection },
          seed: trialSeed(run.seed, run.seq),
          budgets,
        },
        { ...ctx, reportProgress },
      );
      clearInterval(poll);
      await flush();
      const objective = result.metrics[run.objectiveMetric];
      if (typeof objective !== "number" || !Number.isFinite(objective)) {
        await fail(`the evaluator reported no finite '${run.objectiveMetric}' (got ${JSON.stringify(objective)})`);
        return "failed";
      }
      if (result.artifacts?.length) await saveArtifacts(db, trialId, result.artifacts);
      const searchId = await completeTrial(db, trialId, result.metrics as Prisma.InputJsonValue, objective);
      if (searchId) await queues.enqueueAdvance(searchId);
      return searchId ? "completed" : "duplicate: already finished";
    } catch (err) {
      clearInterval(poll);
      await flush().catch(() => {});
      if (err instanceof TrialStopped) {
        if (!pruned) return "stopped"; // cancelled: its status says so already
        const { budget, objective, values } = pruned;
        const searchId = await finishTrial(db, trialId, "pruned", null, { metrics: { ...values, budget }, objective });
        if (searchId) await queues.enqueueAdvance(searchId);
        return "pruned";
      }
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (err instanceof TrialError || lastAttempt) {
        await fail(message);
        return "failed";
      }
      throw err; // transient: BullMQ retries with backoff
    }
  }

  /** A job that BullMQ gave up on (attempts exhausted or stalled too often) fails its trial. */
  async onJobFailed(job: Job<TrialJob> | undefined, err: Error): Promise<void> {
    if (!job || !(await job.isFailed())) return;
    const searchId = await finishTrial(this.deps.db, job.data.trialId, "failed", `${err.name}: ${err.message}`);
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
