/**
 * Learning curves of many trials overlaid (uPlot), one metric at a time: completed trials coloured by their
 * objective, pruned ones red and dashed, running ones blue; a multi-fidelity scheduler's rungs as dashed vertical
 * lines. `useCurves` loads the curves of the latest trials over REST (at most MAX_CURVES) and adds the points that
 * arrive as events.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import { api } from "../api";
import { Plot, verticalLines } from "../charts/plot";
import { goodness, viridis } from "../charts/scale";
import type { CurvePoint, SearchSummary, Trial } from "../types";

const MAX_CURVES = 60;
const FINAL = new Set(["completed", "pruned", "failed", "cancelled"]);

export function useCurves(trials: Trial[], liveCurves: Map<string, CurvePoint[]>, version: number): Map<string, CurvePoint[]> {
  const cache = useRef(new Map<string, { status: string; points: CurvePoint[]; at: number }>());
  const [tick, setTick] = useState(0);
  const wanted = useMemo(
    () =>
      trials
        .filter((t) => t.status !== "queued")
        .sort((a, b) => b.seq - a.seq)
        .slice(0, MAX_CURVES),
    [trials],
  );
  const signature = wanted.map((t) => `${t.id}:${t.status}`).join(",");

  useEffect(() => {
    let stop = false;
    const stale = wanted.filter((t) => {
      const c = cache.current.get(t.id);
      // Finished trials are fetched once; running ones again after 3 s (events add points in between).
      return !c || c.status !== t.status || (!FINAL.has(t.status) && Date.now() - c.at > 3000);
    });
    (async () => {
      for (let i = 0; i < stale.length && !stop; i += 4) {
        const batch = await Promise.all(stale.slice(i, i + 4).map((t) => api.trial(t.id).catch(() => null)));
        for (const d of batch) if (d) cache.current.set(d.id, { status: d.status, points: d.curve, at: Date.now() });
        if (!stop) setTick((x) => x + 1);
      }
    })();
    return () => {
      stop = true;
    };
  }, [signature, Math.floor(version / 20)]);

  return useMemo(() => {
    const out = new Map<string, CurvePoint[]>();
    for (const t of wanted) {
      const stored = cache.current.get(t.id)?.points ?? [];
      const last = stored.at(-1)?.step ?? -Infinity;
      const live = (liveCurves.get(t.id) ?? []).filter((p) => p.step > last);
      if (stored.length || live.length) out.set(t.id, [...stored, ...live]);
    }
    return out;
  }, [tick, signature, version]);
}

/** Rung budgets of ASHA / Hyperband: minBudget·eta^k up to maxBudget. */
export function rungs(scheduler: SearchSummary["scheduler"]): number[] {
  if (!scheduler) return [];
  const eta = scheduler.eta ?? 3;
  const out: number[] = [];
  for (let b = scheduler.minBudget; b <= scheduler.maxBudget * (1 + 1e-9) && out.length < 30; b *= eta) out.push(b);
  return out;
}

export function CurvesChart({ trials, curves, search, testId = "curves" }: { trials: Trial[]; curves: Map<string, CurvePoint[]>; search: SearchSummary; testId?: string }) {
  const metrics = useMemo(() => {
    const seen = new Set<string>();
    for (const pts of curves.values()) for (const p of pts) for (const [k, v] of Object.entries(p.values)) if (typeof v === "number") seen.add(k);
    return [...seen].sort();
  }, [curves]);
  const preferred = [search.objective.metric, "val_loss", "val_nll", "train_loss", "score"].find((m) => metrics.includes(m)) ?? metrics[0];
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const metric = chosen && metrics.includes(chosen) ? chosen : preferred;

  const byId = new Map(trials.map((t) => [t.id, t]));
  const shown = [...curves.keys()].filter((id) => byId.has(id)).sort((a, b) => byId.get(a)!.seq - byId.get(b)!.seq);
  const scored = shown.map((id) => byId.get(id)!.objective).filter((v): v is number => v !== null);
  const good = goodness(scored, search.objective.direction);

  const data = useMemo((): uPlot.AlignedData => {
    if (!metric) return [[]];
    const steps = new Set<number>();
    for (const id of shown) for (const p of curves.get(id)!) if (typeof p.values[metric] === "number") steps.add(p.step);
    const xs = [...steps].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = shown.map((id) => {
      const col: Array<number | null> = new Array(xs.length).fill(null);
      for (const p of curves.get(id)!) {
        const v = p.values[metric];
        if (typeof v === "number" && Number.isFinite(v)) col[index.get(p.step)!] = v;
      }
      return col;
    });
    return [xs, ...ys] as uPlot.AlignedData;
  }, [curves, metric, shown.join(",")]);

  if (!metrics.length || !metric) return <p class="muted">No learning curves (this evaluator reports none, or no trial has started).</p>;
  const rungLines = rungs(search.scheduler);
  const series: uPlot.Series[] = [
    { label: "step" },
    ...shown.map((id): uPlot.Series => {
      const t = byId.get(id)!;
      const stroke = t.status === "pruned" ? "rgba(220,38,38,0.8)" : t.status === "running" ? "#2563eb" : t.status === "completed" && t.objective !== null ? viridis(good(t.objective)) : "#9ca3af";
      return { label: `#${t.seq}`, stroke, width: t.status === "pruned" ? 1 : 1.5, dash: t.status === "pruned" ? [5, 4] : undefined, spanGaps: true, points: { show: false } };
    }),
  ];
  return (
    <div>
      <div class="toolbar small">
        <label>
          metric{" "}
          <select value={metric} onChange={(e) => setChosen(e.currentTarget.value)} data-testid="curve-metric">
            {metrics.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <span class="muted">
          {shown.length} trials · <span class="swatch completed" /> completed (colour: objective) · <span class="swatch pruned" /> pruned · <span class="swatch running" /> running
          {rungLines.length ? ` · dashed verticals: ${search.scheduler!.type} rungs at ${rungLines.map((r) => Math.round(r)).join(", ")}` : ""}
        </span>
      </div>
      <Plot
        testId={testId}
        shape={`${metric}|${shown.join(",")}|${shown.map((id) => byId.get(id)!.status).join(",")}`}
        data={data}
        opts={() => ({ series, legend: { show: false }, scales: { x: { time: false } }, axes: [{ label: "step" }, { label: metric }], plugins: [verticalLines(rungLines)] })}
      />
    </div>
  );
}
