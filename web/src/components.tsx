/** Small pieces every view uses: links, status badges, the progress bar, ages and durations. */
import type { ComponentChildren } from "preact";
import { fmt } from "./charts/scale";
import type { Progress, SearchDetail, SearchSummary } from "./types";

export const go = (hash: string) => {
  location.hash = hash;
};

export function Link({ to, children, testId }: { to: string; children: ComponentChildren; testId?: string }) {
  return (
    <a href={`#${to}`} data-testid={testId}>
      {children}
    </a>
  );
}

export function Status({ status }: { status: string }) {
  return (
    <span class={`badge status-${status}`} data-testid="status">
      {status}
    </span>
  );
}

/**
 * Trials done against the budget. `progress` (issue 15's contract) counts what the budget counts: every trial that
 * finished (completed, pruned or failed; `maxTrials` in the README). An API without it gives the detail's counts,
 * where completed and pruned trials counted. A completed search is full whatever the counts.
 */
export function progressOf(s: SearchSummary | SearchDetail): { done: number | null; budget: number; running: number; queued: number; pct: number | null; title: string } {
  const p: Partial<Progress> | undefined = s.progress ?? ("trials" in s && s.trials ? s.trials : undefined);
  const budget = s.progress?.budget ?? s.budget.maxTrials;
  const done = p ? (p.completed ?? 0) + (p.pruned ?? 0) + (s.progress ? (p.failed ?? 0) : 0) : null;
  const running = p?.running ?? 0;
  const queued = p?.queued ?? 0;
  const pct = s.status === "completed" ? 100 : done === null ? null : Math.min(100, Math.floor((100 * done) / Math.max(1, budget)));
  const title = p
    ? (["completed", "pruned", "failed", "cancelled", "running", "queued"] as const)
        .filter((k) => p[k])
        .map((k) => `${p[k]} ${k}`)
        .join(", ") + ` of a budget of ${budget}`
    : `budget ${budget}`;
  return { done, budget, running, queued, pct, title };
}

export function ProgressBar({ search }: { search: SearchSummary | SearchDetail }) {
  const { done, budget, running, queued, pct, title } = progressOf(search);
  return (
    <div class="progress" data-testid="progress" data-pct={pct ?? ""} title={title} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined}>
      <div class={`progress-fill status-${search.status}`} style={{ width: `${pct ?? 0}%` }} />
      <span class="progress-label">
        {done === null ? `budget ${budget}` : `${Math.min(done, budget)} / ${budget}`}
        {running ? ` · ${running} running` : ""}
        {queued ? ` · ${queued} queued` : ""}
        {pct !== null ? ` · ${pct} %` : ""}
      </span>
    </div>
  );
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  return duration((now - Date.parse(iso)) / 1000) + " ago";
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

export function bestOf(s: SearchSummary | SearchDetail): { trialId?: string; objective: number } | null {
  const b = s.best;
  if (!b) return null;
  return { trialId: b.trialId ?? b.id, objective: b.objective };
}

export function Best({ search }: { search: SearchSummary | SearchDetail }) {
  const b = bestOf(search);
  if (!b) return <span class="muted">–</span>;
  return b.trialId ? <Link to={`/trials/${b.trialId}`}>{fmt(b.objective)}</Link> : <span>{fmt(b.objective)}</span>;
}

export function Card({ title, children, testId, wide = false }: { title: string; children: ComponentChildren; testId?: string; wide?: boolean }) {
  return (
    <section class={`card${wide ? " wide" : ""}`} data-testid={testId}>
      <h3>{title}</h3>
      {children}
    </section>
  );
}

export function ErrorLine({ error }: { error?: string | null }) {
  return error ? (
    <p class="error" role="alert" data-testid="error">
      {error}
    </p>
  ) : null;
}
