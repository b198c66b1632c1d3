/**
 * Statements about searches: create, read, list, summarise, cancel. Every one serves a request and is scoped by
 * the request's project (db/projects.ts): another project's search is not found.
 */
import { ACTIVE_SEARCH_STATUSES, isActiveSearch, TRIAL_STATUSES, type SearchStatus, type TrialStatus } from "../core/status.js";
import type { Db } from "./client.js";
import type { Prisma, Search } from "./generated/client.js";
import type { Scope } from "./projects.js";
import { withSearchLock } from "./search-lock.js";

/** A search's row as the API shows it. */
export type SearchRow = Search;

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

/**
 * Stores a search of the scope's project, unless the project already has `maxActive` searches queued or running
 * (then null). The count and the insert are serialised per project, so concurrent submissions cannot pass it.
 */
export async function createSearch(db: Db, scope: Scope, data: NewSearch): Promise<Search>;
export async function createSearch(db: Db, scope: Scope, data: NewSearch, maxActive: number): Promise<Search | null>;
export async function createSearch(db: Db, scope: Scope, data: NewSearch, maxActive = Infinity): Promise<Search | null> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${scope.projectId}))`;
    if (Number.isFinite(maxActive)) {
      const active = await tx.search.count({ where: { projectId: scope.projectId, status: { in: [...ACTIVE_SEARCH_STATUSES] } } });
      if (active >= maxActive) return null;
    }
    return tx.search.create({ data: { ...data, projectId: scope.projectId } });
  });
}

export function getSearch(db: Db, scope: Scope, id: string): Promise<Search | null> {
  return db.search.findFirst({ where: { id, projectId: scope.projectId } });
}

/** Newest first; `cursor` is the id of the last search of the previous page. */
export async function listSearches(db: Db, scope: Scope, opts: { limit: number; cursor?: string; status?: SearchStatus; space?: string }) {
  const rows = await db.search.findMany({
    where: { projectId: scope.projectId, status: opts.status, space: opts.space },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: opts.limit + 1,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
  });
  const page = rows.slice(0, opts.limit);
  return { items: page, nextCursor: rows.length > opts.limit ? page[page.length - 1]!.id : null };
}

export type TrialCounts = Record<TrialStatus, number>;

/** Counts of the search's trials by status (supernet jobs are not trials of the budget and are not counted). */
export async function trialCounts(db: Db, scope: Scope, searchId: string): Promise<TrialCounts> {
  const groups = await db.trial.groupBy({ by: ["status"], where: { searchId, kind: "trial", search: { projectId: scope.projectId } }, _count: { _all: true } });
  const counts = Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) as TrialCounts;
  for (const g of groups) counts[g.status] = g._count._all;
  return counts;
}

/** Best completed trial and the best-so-far objective after each completed trial, in completion order. */
export async function searchProgress(db: Db, search: Search) {
  const maximize = search.objectiveDirection === "maximize";
  const completed = { searchId: search.id, search: { projectId: search.projectId }, status: "completed", objective: { not: null } } satisfies Prisma.TrialWhereInput;
  const [best, finished] = await Promise.all([
    db.trial.findFirst({
      where: completed,
      orderBy: [{ objective: maximize ? "desc" : "asc" }, { finishedSeq: "asc" }],
      select: { id: true, seq: true, architecture: true, archHash: true, metrics: true, objective: true, finishedAt: true },
    }),
    db.trial.findMany({
      where: completed,
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

/** Cancels an active search and its unfinished trials; returns null if the search does not exist (in this scope). */
export async function cancelSearch(db: Db, scope: Scope, id: string): Promise<{ search: Search; changed: boolean } | null> {
  const changed = await withSearchLock(db, id, async (search) => {
    if (search.row.projectId !== scope.projectId) return null;
    const active = isActiveSearch(search.row.status);
    if (active) await search.end("cancelled", null);
    return active;
  });
  if (changed === null) return null;
  return { search: (await getSearch(db, scope, id))!, changed };
}


/** Ids of the searches that can still run trials (the reconciler advances each). */
export async function activeSearchIds(db: Db): Promise<string[]> {
  const rows = await db.search.findMany({ where: { status: { in: [...ACTIVE_SEARCH_STATUSES] } }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** Task and objective metric of the project's newest search of a space (and task): the leaderboard's defaults. */
export async function newestSearchOf(db: Db, scope: Scope, space: string, task?: string): Promise<{ task: string; objectiveMetric: string } | null> {
  return db.search.findFirst({
    where: { projectId: scope.projectId, space, ...(task ? { task } : {}) },
    orderBy: { createdAt: "desc" },
    select: { task: true, objectiveMetric: true },
  });
}
