/**
 * Advancing a search: the only place a strategy is called. In one transaction, with the search's row locked (so
 * advances of one search are serial even across orchestrator processes), it tells the strategy every trial that
 * finished since the last advance, decides whether the search is done, asks for up to
 * min(maxParallel − in flight, maxTrials − completed − in flight) new architectures, inserts them as queued
 * trials and stores the strategy's state. The caller enqueues the new trials after the commit; if it dies
 * before that, the reconciler finds the queued trials in PostgreSQL and enqueues them.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client.js";
import type { Prisma, Search, TrialStatus } from "../db/generated/client.js";
import type { SpaceRegistry } from "../spaces/registry.js";
import { createStrategy, type StrategyConfig } from "../strategies/registry.js";
import type { JsonValue, TrialResult } from "../strategies/strategy.js";
import type { Architecture } from "../spaces/definition.js";

export interface AdvanceOutcome {
  /** Trials created by this advance, to enqueue. */
  created: string[];
  status: Search["status"];
}

export async function advanceSearch(db: Db, spaces: SpaceRegistry, searchId: string): Promise<AdvanceOutcome> {
  return db.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<Search[]>`SELECT id FROM searches WHERE id = ${searchId}::uuid FOR UPDATE`;
      if (locked.length === 0) return { created: [], status: "failed" as const };
      const search = (await tx.search.findUnique({ where: { id: searchId } }))!;
      if (search.status !== "queued" && search.status !== "running") return { created: [], status: search.status };

      const space = spaces.get(search.space);
      if (!space) {
        await tx.search.update({ where: { id: searchId }, data: { status: "failed", error: `search space '${search.space}' is no longer available`, finishedAt: new Date() } });
        return { created: [], status: "failed" as const };
      }

      const untold = await tx.trial.findMany({
        where: { searchId, told: false, status: { in: ["completed", "failed", "pruned"] } },
        orderBy: { finishedSeq: "asc" },
        select: { id: true, architecture: true, status: true, objective: true, metrics: true, parentId: true },
      });
      const counts = await tx.trial.groupBy({ by: ["status"], where: { searchId }, _count: { _all: true } });
      const count = (s: TrialStatus) => counts.find((c) => c.status === s)?._count._all ?? 0;
      const completed = count("completed") + count("pruned");
      const inFlight = count("queued") + count("running");
      const failed = count("failed");

      const strategy = createStrategy(search.strategy as StrategyConfig, space, search.seed, search.strategyState as JsonValue | null);
      const sign = search.objectiveDirection === "maximize" ? 1 : -1;
      if (untold.length > 0) {
        const results: TrialResult[] = untold.map((t) => ({
          trialId: t.id,
          architecture: t.architecture as Architecture,
          status: t.status as TrialResult["status"],
          objective: t.objective,
          score: t.objective === null ? null : sign * t.objective,
          metrics: (t.metrics ?? {}) as Record<string, unknown>,
          parentId: t.parentId,
        }));
        await strategy.tell(results);
        await tx.trial.updateMany({ where: { id: { in: untold.map((t) => t.id) } }, data: { told: true } });
      }

      const finish = async (status: "completed" | "failed", error: string | null) => {
        await tx.trial.updateMany({ where: { searchId, status: { in: ["queued", "running"] } }, data: { status: "cancelled", finishedAt: new Date() } });
        await tx.search.update({ where: { id: searchId }, data: { status, error, finishedAt: new Date(), strategyState: strategy.state() as Prisma.InputJsonValue } });
        return { created: [], status };
      };
      if (completed >= search.maxTrials) return finish("completed", null);
      if (failed > search.maxFailures) return finish("failed", `${failed} trials failed (more than budget.maxFailures = ${search.maxFailures}); see the trials' errors`);

      const slots = Math.min(search.maxParallel - inFlight, search.maxTrials - completed - inFlight);
      const proposals = slots > 0 ? await strategy.ask(slots) : [];
      if (proposals.length === 0 && inFlight === 0) {
        return finish("completed", completed === 0 ? "the strategy proposed no architecture" : `the strategy had no more architectures to propose after ${completed} trials`);
      }

      const created = proposals.map((p, i) => ({
        id: randomUUID(),
        searchId,
        seq: search.trialsCreated + i,
        architecture: space.canonical(p.architecture) as Prisma.InputJsonValue,
        archHash: space.hash(p.architecture),
        parentId: p.parentId ?? null,
      }));
      if (created.length > 0) await tx.trial.createMany({ data: created });
      await tx.search.update({
        where: { id: searchId },
        data: {
          status: "running",
          startedAt: search.startedAt ?? new Date(),
          trialsCreated: search.trialsCreated + created.length,
          strategyState: strategy.state() as Prisma.InputJsonValue,
        },
      });
      return { created: created.map((c) => c.id), status: "running" as const };
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}
