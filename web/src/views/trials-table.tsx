/**
 * A search's trials as a table: sortable by any column (click its header), filtered by status and by each decision
 * (a select of the values seen under its header). A running trial shows step x of N and its ETA.
 */
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import { fmt } from "../charts/scale";
import { duration, go, Status } from "../components";
import type { Column } from "../decisions";
import type { Trial } from "../types";

const MAX_ROWS = 500;

interface Col {
  key: string;
  label: string;
  value: (t: Trial) => string | number | undefined;
  render?: (t: Trial) => ComponentChildren;
  filter?: boolean;
}

const backendOf = (t: Trial) => t.backend ?? (typeof t.metrics?.backend === "string" ? (t.metrics.backend as string) : undefined);
const seconds = (t: Trial) => (t.startedAt ? ((t.finishedAt ? Date.parse(t.finishedAt) : Date.now()) - Date.parse(t.startedAt)) / 1000 : undefined);

/** A running trial's step x of N and ETA (issue 15's contract: step, budgetSteps, etaSeconds); "" otherwise. */
export function progressText(t: Trial): string {
  if (t.status !== "running") return "";
  const steps = t.step !== undefined && t.step !== null && t.budgetSteps ? `step ${t.step} / ${t.budgetSteps}` : "running";
  return t.etaSeconds !== undefined && t.etaSeconds !== null ? `${steps} · ETA ${duration(t.etaSeconds)}` : steps;
}

export function TrialsTable({ trials, decisions, metric, direction }: { trials: Trial[]; decisions: Column[]; metric: string; direction: "minimize" | "maximize" }) {
  const byId = useMemo(() => new Map(trials.map((t) => [t.id, t])), [trials]);
  const columns: Col[] = [
    { key: "seq", label: "#", value: (t) => t.seq },
    { key: "status", label: "status", value: (t) => t.status, render: (t) => <Status status={t.status} />, filter: true },
    { key: "objective", label: metric, value: (t) => t.objective ?? undefined, render: (t) => fmt(t.objective) },
    ...decisions.map((d): Col => ({ key: `d:${d.name}`, label: d.name, value: (t) => d.get(t.architecture ?? {}), filter: true })),
    { key: "progress", label: "step", value: (t) => t.step ?? undefined, render: progressText },
    { key: "time", label: "time", value: seconds, render: (t) => duration(seconds(t)) },
    { key: "parent", label: "parent", value: (t) => (t.parentId ? byId.get(t.parentId)?.seq : undefined), render: (t) => (t.parentId && byId.get(t.parentId) ? `#${byId.get(t.parentId)!.seq}` : "") },
    { key: "backend", label: "backend", value: backendOf },
  ];
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 }>({ key: "seq", dir: 1 });
  const [filters, setFilters] = useState<Record<string, string>>({});

  const options = useMemo(() => {
    const out: Record<string, string[]> = {};
    for (const c of columns.filter((c) => c.filter)) {
      const seen = new Set<string>();
      for (const t of trials) {
        const v = c.value(t);
        if (v !== undefined && v !== "") seen.add(String(v));
      }
      out[c.key] = [...seen].sort((a, b) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b)));
    }
    return out;
  }, [trials, decisions]);

  const rows = useMemo(() => {
    const col = columns.find((c) => c.key === sort.key) ?? columns[0]!;
    const filtered = trials.filter((t) => Object.entries(filters).every(([k, want]) => !want || String(columns.find((c) => c.key === k)?.value(t) ?? "") === want));
    return filtered.sort((a, b) => {
      const [x, y] = [col.value(a), col.value(b)];
      if (x === undefined && y === undefined) return a.seq - b.seq;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return c * sort.dir || a.seq - b.seq;
    });
  }, [trials, sort, filters, decisions]);

  const clickSort = (key: string) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: key === "objective" && direction === "maximize" ? -1 : 1 }));

  return (
    <div class="scroll-x">
      <table class="grid trials" data-testid="trials-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} class="sortable" onClick={() => clickSort(c.key)} data-sort={sort.key === c.key ? (sort.dir === 1 ? "asc" : "desc") : undefined}>
                {c.label}
                {sort.key === c.key ? (sort.dir === 1 ? " ▲" : " ▼") : ""}
              </th>
            ))}
          </tr>
          <tr class="filters">
            {columns.map((c) => (
              <th key={c.key}>
                {c.filter && (
                  <select name={`filter-${c.key}`} value={filters[c.key] ?? ""} onChange={(e) => setFilters((f) => ({ ...f, [c.key]: e.currentTarget.value }))}>
                    <option value="">all</option>
                    {options[c.key]!.map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, MAX_ROWS).map((t) => (
            <tr key={t.id} class="clickable" onClick={() => go(`/trials/${t.id}`)} data-testid="trial-row" data-status={t.status}>
              {columns.map((c) => (
                <td key={c.key}>{c.render ? c.render(t) : String(c.value(t) ?? "")}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">
        {rows.length} of {trials.length} trials{rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} shown)` : ""}
      </p>
    </div>
  );
}
