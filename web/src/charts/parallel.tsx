/**
 * Parallel coordinates, drawn in SVG: one vertical axis per decision (categorical values evenly spaced in the
 * space's order, numbers on a linear scale) and a last axis for the objective; one line per scored trial, coloured
 * by how good its objective is, the best drawn last and thickest.
 */
import type { Column } from "../decisions";
import type { Trial } from "../types";
import { fmt, goodness, viridis } from "./scale";

interface Props {
  columns: Column[];
  trials: Trial[];
  direction: "minimize" | "maximize";
  metric: string;
}

const H = 300;
const TOP = 28;
const BOTTOM = 24;
const GAP = 150;

export function ParallelCoordinates({ columns, trials, direction, metric }: Props) {
  const scored = trials.filter((t) => t.objective !== null && Number.isFinite(t.objective));
  // Text summaries of repeated blocks have too many values to be an axis.
  const axes = columns.filter((c) => c.numeric || c.values);
  if (!scored.length || !axes.length) return <p class="muted">No scored trials yet.</p>;
  const objectives = scored.map((t) => t.objective!);
  const good = goodness(objectives, direction);
  const oLo = Math.min(...objectives);
  const oHi = Math.max(...objectives);
  const width = GAP * (axes.length + 1) + 100;
  const y = (f: number) => TOP + (1 - f) * (H - TOP - BOTTOM);

  const position = axes.map((c) => {
    if (c.numeric) {
      const seen = scored.map((t) => c.get(t.architecture)).filter((v): v is number => typeof v === "number");
      const lo = c.min ?? Math.min(...seen);
      const hi = c.max ?? Math.max(...seen);
      return { ticks: [lo, hi].map((v) => ({ label: fmt(v), f: hi === lo ? 0.5 : (v - lo) / (hi - lo) })), at: (v: unknown) => (typeof v === "number" ? (hi === lo ? 0.5 : (v - lo) / (hi - lo)) : 0) };
    }
    const values = [...c.values!];
    // A conditional decision absent from an architecture sits on a "—" tick below the others.
    const hasMissing = scored.some((t) => c.get(t.architecture) === undefined);
    const labels = hasMissing ? ["—", ...values] : values;
    const f = (i: number) => (labels.length === 1 ? 0.5 : i / (labels.length - 1));
    return { ticks: labels.map((label, i) => ({ label, f: f(i) })), at: (v: unknown) => f(v === undefined ? 0 : labels.indexOf(String(v))) };
  });
  const objectiveAt = (v: number) => (oHi === oLo ? 0.5 : (v - oLo) / (oHi - oLo));
  const xs = [...axes.map((_, i) => 20 + GAP * i + GAP / 2), 20 + GAP * axes.length + GAP / 2];

  const ordered = [...scored].sort((a, b) => good(a.objective!) - good(b.objective!));
  return (
    <div class="scroll-x">
      <svg class="parallel" width={width} height={H} data-testid="parallel-coordinates">
        {ordered.map((t, rank) => {
          const pts = axes.map((c, i) => `${xs[i]},${y(position[i]!.at(c.get(t.architecture)))}`);
          pts.push(`${xs[axes.length]},${y(objectiveAt(t.objective!))}`);
          const best = rank === ordered.length - 1;
          return (
            <polyline key={t.id} points={pts.join(" ")} fill="none" stroke={viridis(good(t.objective!))} stroke-width={best ? 3 : 1.2} stroke-opacity={best ? 1 : 0.55}>
              <title>{`#${t.seq} ${metric} ${fmt(t.objective)}`}</title>
            </polyline>
          );
        })}
        {axes.map((c, i) => (
          <g key={c.name}>
            <line x1={xs[i]} x2={xs[i]} y1={TOP} y2={H - BOTTOM} stroke="#374151" />
            <text x={xs[i]} y={14} text-anchor="middle" class="axis-title">
              {c.name}
            </text>
            {position[i]!.ticks.map((tk) => (
              <text key={tk.label} x={xs[i]! + 4} y={y(tk.f) + 4} class="tick">
                {tk.label}
              </text>
            ))}
          </g>
        ))}
        <line x1={xs[axes.length]} x2={xs[axes.length]} y1={TOP} y2={H - BOTTOM} stroke="#111827" stroke-width={2} />
        <text x={xs[axes.length]} y={14} text-anchor="middle" class="axis-title">
          {metric}
        </text>
        {[oLo, oHi].map((v) => (
          <text key={v} x={xs[axes.length]! + 4} y={y(objectiveAt(v)) + 4} class="tick">
            {fmt(v)}
          </text>
        ))}
      </svg>
    </div>
  );
}
