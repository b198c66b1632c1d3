/**
 * Multi-fidelity scheduling of a running trial: the scheduler of a search (ASHA, Hyperband) lives as JSON state in
 * the search's row and is called under that row's lock, so reports from any number of trainers are serialised as
 * the Scheduler interface requires. Only searches with a `scheduler` pay for this, at their trials' budgets.
 */
import type { Db } from "../db/client.js";
import { createScheduler, type SchedulerConfig } from "../schedulers/registry.js";
import type { Scheduler, SchedulerDecision } from "../schedulers/scheduler.js";
import type { JsonValue } from "../strategies/strategy.js";

async function withScheduler<T>(db: Db, searchId: string, fn: (s: Scheduler) => T): Promise<T | undefined> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ scheduler: SchedulerConfig | null; scheduler_state: JsonValue | null }>(
      `SELECT scheduler, scheduler_state FROM searches WHERE id = $1 FOR UPDATE`,
      [searchId],
    );
    const row = rows[0];
    if (!row?.scheduler) {
      await client.query("COMMIT");
      return undefined;
    }
    const scheduler = createScheduler(row.scheduler, row.scheduler_state);
    const result = fn(scheduler);
    await client.query(`UPDATE searches SET scheduler_state = $2::jsonb WHERE id = $1`, [searchId, JSON.stringify(scheduler.state())]);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The budgets at which a trial reports (its last one is the full budget); undefined without a scheduler. */
export function trialBudgets(db: Db, searchId: string, trialId: string): Promise<number[] | undefined> {
  return withScheduler(db, searchId, (s) => s.budgets(trialId));
}

/** Reports a trial's score (higher is better) at a budget; "continue" without a scheduler. */
export async function reportToScheduler(db: Db, searchId: string, trialId: string, budget: number, score: number): Promise<SchedulerDecision> {
  return (await withScheduler(db, searchId, (s) => s.report(trialId, budget, score))) ?? "continue";
}
