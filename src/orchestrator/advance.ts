/**
 * Advancing a search: the only place a strategy is called. In one transaction, with the search's row locked (so
 * advances of one search are serial even across orchestrator processes), it tells the strategy every trial that
 * finished since the last advance, decides whether the search is done, asks for up to
 * min(maxParallel − in flight, maxTrials − completed − in flight) new architectures, inserts them as queued
 * trials and stores the strategy's state. The caller enqueues the new trials after the commit; if it dies
 * before that, the reconciler finds the queued trials in PostgreSQL and enqueues them.
 *
 * This runs once per completed trial at the service's full rate, so it uses the pg pool directly (a handful of
 * statements) rather than Prisma.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Db } from "../db/client.js";
import type { SearchStatus, TrialStatus } from "../db/generated/client.js";
import type { Architecture } from "../spaces/definition.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import { createStrategy, type StrategyConfig } from "../strategies/registry.js";
import type { JsonValue, ProposalKind, TrialResult } from "../strategies/strategy.js";

export interface AdvanceOutcome {
  /** Trials (and jobs) created by this advance, to enqueue. */
  created: Array<{ id: string; kind: ProposalKind }>;
  status: SearchStatus;
}

interface LockedSearch {
  status: SearchStatus;
  space: string;
  strategy: StrategyConfig;
  strategy_state: JsonValue | null;
  seed: number;
  objective_direction: "minimize" | "maximize";
  max_trials: number;
  max_parallel: number;
  max_failures: number;
  trials_created: number;
}

export async function advanceSearch(db: Db, spaces: SpaceRegistry, searchId: string): Promise<AdvanceOutcome> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const outcome = await advanceLocked(client, spaces, searchId);
    await client.query("COMMIT");
    return outcome;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}


async function advanceLocked(client: pg.PoolClient, spaces: SpaceRegistry, searchId: string): Promise<AdvanceOutcome> {
  const { rows } = await client.query<LockedSearch>(
    `SELECT status, space, strategy, strategy_state, seed, objective_direction, max_trials, max_parallel, max_failures, trials_created
     FROM searches WHERE id = $1 FOR UPDATE`,
    [searchId],
  );
  const search = rows[0];
  if (!search) return { created: [], status: "failed" };
  if (search.status !== "queued" && search.status !== "running") return { created: [], status: search.status };

  const end = async (status: "completed" | "failed", error: string | null, state: JsonValue | null) => {
    await client.query(`UPDATE trials SET status = 'cancelled', finished_at = now() WHERE search_id = $1 AND status IN ('queued', 'running')`, [searchId]);
    await client.query(
      `UPDATE searches SET status = $2::"SearchStatus", error = $3, finished_at = now(), updated_at = now(), strategy_state = COALESCE($4::jsonb, strategy_state) WHERE id = $1`,
      [searchId, status, error, state === null ? null : JSON.stringify(state)],
    );
    return { created: [], status };
  };
  const space = spaces.get(search.space);
  if (!space) return end("failed", `search space '${search.space}' is no longer available`, null);

  // Results are told in completion order.
  const untold = (
    await client.query<{ id: string; kind: ProposalKind; architecture: Architecture; status: TrialResult["status"]; objective: number | null; metrics: Record<string, unknown> | null; parent_id: string | null; finished_seq: string }>(
      `UPDATE trials SET told = true
       WHERE search_id = $1 AND told = false AND status IN ('completed', 'failed', 'pruned')
       RETURNING id, kind, architecture, status, objective, metrics, parent_id, finished_seq`,
      [searchId],
    )
  ).rows.sort((a, b) => Number(BigInt(a.finished_seq) - BigInt(b.finished_seq)));
  // One snapshot of the search's trials. A trial that finished after the update above is not told yet: it counts
  // as in flight (its advance is queued behind this one), so it is neither counted twice nor replaced.
  const counts = (
    await client.query<{ kind: ProposalKind; status: TrialStatus; told: boolean; n: string }>(
      `SELECT kind, status, told, count(*) AS n FROM trials WHERE search_id = $1 GROUP BY kind, status, told`,
      [searchId],
    )
  ).rows;
  const count = (statuses: TrialStatus[], opts: { kind?: ProposalKind; told?: boolean } = {}) =>
    counts
      .filter((c) => statuses.includes(c.status) && (opts.kind === undefined || c.kind === opts.kind) && (opts.told === undefined || c.told === opts.told))
      .reduce((n, c) => n + Number(c.n), 0);
  const FINISHED: TrialStatus[] = ["completed", "pruned", "failed"];
  // Only trials count toward the budget; a supernet job occupies a worker but is not a trial.
  const completed = count(["completed", "pruned"], { kind: "trial", told: true });
  const inFlight = count(["queued", "running"]) + count(FINISHED, { told: false });
  const inFlightTrials = count(["queued", "running"], { kind: "trial" }) + count(FINISHED, { kind: "trial", told: false });
  const failed = count(["failed"], { told: true });

  const strategy = createStrategy(search.strategy, space, search.seed, search.strategy_state);
  if (untold.length > 0) {
    const sign = search.objective_direction === "maximize" ? 1 : -1;
    await strategy.tell(
      untold.map((t) => ({
        trialId: t.id,
        ...(t.kind !== "trial" ? { kind: t.kind } : {}),
        architecture: t.architecture,
        status: t.status,
        objective: t.objective,
        score: t.objective === null ? null : sign * t.objective,
        metrics: t.metrics ?? {},
        parentId: t.parent_id,
      })),
    );
  }

  if (completed >= search.max_trials) return end("completed", null, strategy.state());
  if (failed > search.max_failures) return end("failed", `${failed} trials failed (more than budget.maxFailures = ${search.max_failures}); see the trials' errors`, strategy.state());

  const slots = Math.min(search.max_parallel - inFlight, search.max_trials - completed - inFlightTrials);
  const proposals = slots > 0 ? await strategy.ask(slots) : [];
  if (proposals.length === 0 && inFlight === 0) {
    if (completed === 0) return end("failed", `the strategy proposed no architecture to train${failed ? " (see the failed trials)" : ""}`, strategy.state());
    return end("completed", `the strategy had no more architectures to propose after ${completed} trials`, strategy.state());
  }

  const ids = proposals.map(() => randomUUID());
  if (proposals.length > 0) {
    await client.query(
      `INSERT INTO trials (id, search_id, seq, kind, architecture, arch_hash, parent_id)
       SELECT t.id, $1, t.seq, t.kind, t.arch, t.hash, t.parent
       FROM unnest($2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::text[], $7::uuid[]) AS t(id, seq, kind, arch, hash, parent)`,
      [
        searchId,
        ids,
        proposals.map((_, i) => search.trials_created + i),
        proposals.map((p) => p.kind ?? "trial"),
        // A supernet job's architecture is a partial one (the decisions it does not relax): stored as given.
        proposals.map((p) => JSON.stringify(p.kind === "supernet" ? p.architecture : space.canonical(p.architecture))),
        proposals.map((p) => (p.kind === "supernet" ? "supernet" : space.hash(p.architecture))),
        proposals.map((p) => p.parentId ?? null),
      ],
    );
  }
  await client.query(
    `UPDATE searches SET status = 'running', started_at = COALESCE(started_at, now()), updated_at = now(),
       trials_created = trials_created + $2, strategy_state = $3::jsonb WHERE id = $1`,
    [searchId, proposals.length, JSON.stringify(strategy.state())],
  );
  return { created: ids.map((id, i) => ({ id, kind: proposals[i]!.kind ?? "trial" })), status: "running" };
}
