/**
 * `nas search watch ID` (and `nas search create` unless --detach): follows the search's live events
 * (src/client/events.ts, resumed by itself when the connection drops) and shows its progress: trials done of the
 * budget, running, the best so far and an ETA from the rate so far. On a terminal one line is redrawn in place; on
 * a pipe or file a plain line is printed each time the number of trials done changes; with --json every event is
 * printed as one JSON line. Exit code: 0 when the search completed, 1 when it failed or was cancelled.
 */
import { searchEvents } from "../client/events.js";
import type { Context } from "./context.js";
import { duration, formatNumber } from "./context.js";

/** The fields of the search JSON (GET /v1/searches items, `search` and `end` events) that progress is drawn from. */
export interface SearchProgressJson {
  id: string;
  status: string;
  error?: string | null;
  startedAt?: string | null;
  createdAt?: string;
  objective?: { metric: string };
  budget?: { maxTrials: number };
  progress?: { completed: number; pruned: number; failed: number; cancelled: number; running: number; queued: number; budget: number };
  best?: { trialId: string; objective: number | null } | null;
}

/** Trials that count toward the budget (completed, pruned or failed), and the budget. */
export function doneOf(s: SearchProgressJson): { done: number; budget: number } {
  const p = s.progress;
  const budget = p?.budget ?? s.budget?.maxTrials ?? 0;
  return { done: p ? p.completed + p.pruned + p.failed : 0, budget };
}

/** Seconds left at the rate so far (null before the first trial is done or once the search has ended). */
export function etaOf(s: SearchProgressJson, now = Date.now()): number | null {
  const { done, budget } = doneOf(s);
  const since = Date.parse(s.startedAt ?? s.createdAt ?? "");
  if (!done || !Number.isFinite(since) || !["queued", "running"].includes(s.status)) return null;
  return ((budget - done) * (now - since)) / 1000 / done;
}

/** One line of progress, with a bar of `width` characters on a terminal. */
export function progressLine(s: SearchProgressJson, opts: { bar: boolean; width?: number; now?: number }): string {
  const { done, budget } = doneOf(s);
  const running = s.progress?.running ?? 0;
  const parts: string[] = [];
  if (opts.bar) {
    const width = opts.width ?? 30;
    const filled = budget ? Math.min(width, Math.round((done / budget) * width)) : 0;
    parts.push(`[${"#".repeat(filled)}${".".repeat(width - filled)}]`);
  }
  parts.push(`${done}/${budget} done`, `${running} running`);
  parts.push(`best ${s.best ? `${formatNumber(s.best.objective)}${s.objective ? ` ${s.objective.metric}` : ""} (trial ${s.best.trialId.slice(0, 8)})` : "-"}`);
  const eta = etaOf(s, opts.now);
  if (eta !== null) parts.push(`ETA ${duration(eta)}`);
  parts.push(s.status);
  return parts.join("  ");
}

/** Follows the search until it ends; returns the exit code. */
export async function watchSearch(ctx: Context, searchId: string): Promise<number> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once("SIGINT", stop);
  let last: SearchProgressJson | null = null;
  let lastDone = -1;
  let lastLine = "";
  try {
    for await (const e of searchEvents(ctx.api, searchId, {
      signal: abort.signal,
      onReconnect: (err) => process.stderr.write(`connection lost (${(err as Error).message}); resuming\n`),
    })) {
      if (ctx.json) {
        ctx.out(JSON.stringify(e));
        if (e.type === "search" || e.type === "end") last = e.data as SearchProgressJson;
        continue;
      }
      if (e.type !== "search" && e.type !== "end") continue;
      last = e.data as SearchProgressJson;
      if (ctx.tty) process.stdout.write(`\r\x1b[2K${progressLine(last, { bar: true })}`);
      else {
        // A plain line when the count of trials done changes, and the last one.
        const line = progressLine(last, { bar: false });
        if (doneOf(last).done !== lastDone || (e.type === "end" && line !== lastLine)) ctx.out(line);
        lastDone = doneOf(last).done;
        lastLine = line;
      }
    }
  } finally {
    process.off("SIGINT", stop);
  }
  if (abort.signal.aborted) {
    if (ctx.tty && !ctx.json) process.stdout.write("\n");
    return 130;
  }
  if (!last) return 1;
  if (!ctx.json) {
    if (ctx.tty) process.stdout.write("\n");
    ctx.out(`search ${last.id} ${last.status}${last.error ? `: ${last.error}` : ""}`);
  }
  return last.status === "completed" ? 0 : 1;
}
