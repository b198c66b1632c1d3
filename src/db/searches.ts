/**
 * Queries about searches: create, read, list, summarise, cancel.
 */
import type { Db } from "./client.js";
import type { Prisma, Search, SearchStatus, TrialStatus } from "./generated/client.js";

export const ACTIVE_SEARCH: SearchStatus[] = ["queued", "running"];
export const IN_FLIGHT: TrialStatus[] = ["queued", "running"];
export const FINISHED: TrialStatus[] = ["completed", "failed", "pruned", "cancelled"];

export interface NewSearch {
  name: string;
  space: string;
  task: string;
  strategy: Prisma.InputJsonValue;
  evaluator: Prisma.InputJsonValue;
  objectiveMetric: string;
  objectiveDirection: "minimize" | "maximize";
  maxTrials: number;
  maxParallel: number;
  maxFailures: number;
  scheduler?: Prisma.InputJsonValue;
  seed: number;
}

export function createSearch(db: Db, data: NewSearch): Promise<Search> {
  return db.search.create({ data });
}

export function getSearch(db: Db, id: string): Promise<Search | null> {
  return db.search.findUnique({ where: { id } });
}

/** Newest first; `cursor` is the id of the last search of the previous page. */
export async function listSearches(db: Db, opts: { limit: number; cursor?: string; status?: SearchStatus; space?: string }) {
  const rows = await db.search.findMany({
    where: { status: opts.status, space: opts.space },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: opts.limit + 1,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, opts.limit);
  return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null };
}

export type TrialCounts = Record<TrialStatus, number>;

/** Counts of the search's trials by status (supernet jobs are not trials of the budget and are not counted). */
export async function trialCounts(db: Db, searchId: string): Promise<TrialCounts> {
  const groups = await db.trial.groupBy({ by: ["status"], where: { searchId, kind: "trial" }, _count: { _all: true } });
  const counts: TrialCounts = { queued: 0, running: 0, completed: 0, failed: 0, pruned: 0, cancelled: 0 };
  for (const g of groups) counts[g.status] = g._count._all;
  return counts;
}

/** Best completed trial and the best-so-far objective after each completed trial, in completion order. */
export async function searchProgress(db: Db, search: Search) {
  const maximize = search.objectiveDirection === "maximize";
  const [best, finished] = await Promise.all([
    db.trial.findFirst({
      where: { searchId: search.id, status: "completed", objective: { not: null } },
      orderBy: [{ objective: maximize ? "desc" : "asc" }, { finishedSeq: "asc" }],
      select: { id: true, seq: true, architecture: true, archHash: true, metrics: true, objective: true, finishedAt: true },
    }),
    db.trial.findMany({
      where: { searchId: search.id, status: "completed", objective: { not: null } },
      orderBy: { finishedSeq: "asc" },
      select: { objective: true },
    }),
  ]);
  const bestSoFar: number[] = [];
  let running = maximize ? -Infinity : Infinity;
  for (const t of finished) {
    running = maximize ? Math.max(running, t.objective!) : Math.min(running, t.objective!);
    bestSoFar.push(running);
  }
  return { best, bestSoFar };
}

/** Cancels an active search and its unfinished trials; returns null if the search does not exist. */
export async function cancelSearch(db: Db, id: string): Promise<{ search: Search; changed: boolean } | null> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ status: SearchStatus }>>`SELECT status FROM searches WHERE id = ${id}::uuid FOR UPDATE`;
    if (rows.length === 0) return null;
    const active = ACTIVE_SEARCH.includes(rows[0]!.status);
    if (active) {
      await tx.trial.updateMany({ where: { searchId: id, status: { in: IN_FLIGHT } }, data: { status: "cancelled", finishedAt: new Date() } });
      await tx.search.update({ where: { id }, data: { status: "cancelled", finishedAt: new Date() } });
    }
    return { search: (await tx.search.findUnique({ where: { id } }))!, changed: active };
  });
}
