/**
 * A multi-objective search's trade-off, drawn in SVG: every completed trial as a point of two objectives (x, y),
 * the Pareto front (GET /v1/searches/:id/pareto) highlighted and joined by its staircase, the region it dominates up
 * to the reference point shaded (its area is the hypervolume when there are two objectives), the reference point
 * marked. Trials that break a constraint are hollow grey: they are on no front.
 */
import type { Objective, SearchPareto, Trial } from "../types";
import { fmt } from "./scale";

interface Props {
  pareto: SearchPareto;
  trials: Trial[];
  /** Indices into pareto.objectives of the two objectives drawn (x, y). */
  axes: [number, number];
  onOpen?: (trialId: string) => void;
}

const W = 560;
const H = 340;
const PAD = { left: 64, right: 16, top: 12, bottom: 40 };

/** A trial's value of `metric`: the primary objective is the trial's `objective`, the others its metrics. */
export function objectiveValue(t: Trial, objectives: Objective[], i: number): number | undefined {
  const v = i === 0 ? t.objective : (t.metrics as Record<string, unknown> | null)?.[objectives[i]!.metric];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function breaks(t: Trial, constraints: SearchPareto["constraints"]): boolean {
  const m = (t.metrics ?? {}) as Record<string, unknown>;
  return constraints.some((c) => {
    const v = m[c.metric];
    if (typeof v !== "number") return false;
    return (c.max !== undefined && v > c.max) || (c.min !== undefined && v < c.min);
  });
}

function ticks(lo: number, hi: number): number[] {
  if (hi === lo) return [lo];
  return [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
}

export function ParetoChart({ pareto, trials, axes, onOpen }: Props) {
  const [ix, iy] = axes;
  const { objectives } = pareto;
  const points = trials
    .filter((t) => t.status === "completed")
    .flatMap((t) => {
      const x = objectiveValue(t, objectives, ix);
      const y = objectiveValue(t, objectives, iy);
      return x === undefined || y === undefined ? [] : [{ t, x, y, infeasible: breaks(t, pareto.constraints) }];
    });
  const onFront = new Set(pareto.front.map((f) => f.trialId));
  const front = pareto.front.map((f) => ({ id: f.trialId, seq: f.seq, x: f.values[ix]!, y: f.values[iy]! }));
  if (!points.length && !front.length) return <p class="muted">No completed trial with every objective measured yet.</p>;

  const ref = pareto.referencePoint;
  const xsAll = [...points.map((p) => p.x), ...front.map((f) => f.x), ...(ref ? [ref[ix]!] : [])];
  const ysAll = [...points.map((p) => p.y), ...front.map((f) => f.y), ...(ref ? [ref[iy]!] : [])];
  const [xLo, xHi] = [Math.min(...xsAll), Math.max(...xsAll)];
  const [yLo, yHi] = [Math.min(...ysAll), Math.max(...ysAll)];
  const sx = (v: number) => PAD.left + (xHi === xLo ? 0.5 : (v - xLo) / (xHi - xLo)) * (W - PAD.left - PAD.right);
  const sy = (v: number) => H - PAD.bottom - (yHi === yLo ? 0.5 : (v - yLo) / (yHi - yLo)) * (H - PAD.top - PAD.bottom);

  // The staircase of the front in the two drawn objectives: sorted from the best x, each step holding y until the
  // next point. With more than two objectives the front's points need not be non-dominated in this plane: the
  // staircase then joins only those that are.
  const xDir = objectives[ix]!.direction === "maximize" ? -1 : 1;
  const yBetter = (a: number, b: number) => (objectives[iy]!.direction === "maximize" ? a > b : a < b);
  const sorted = [...front].sort((a, b) => xDir * (a.x - b.x));
  const stairs: typeof front = [];
  for (const f of sorted) if (!stairs.length || yBetter(f.y, stairs.at(-1)!.y)) stairs.push(f);
  let stairPath = "";
  let region = "";
  if (stairs.length) {
    stairPath = stairs.map((f, i) => (i === 0 ? `M${sx(f.x)},${sy(f.y)}` : `H${sx(f.x)} V${sy(f.y)}`)).join(" ");
    if (ref) {
      // Dominated region: from the reference point's y along the staircase to the reference point's x.
      const [rx, ry] = [sx(ref[ix]!), sy(ref[iy]!)];
      region = `M${sx(stairs[0]!.x)},${ry} ` + stairs.map((f, i) => (i === 0 ? `V${sy(f.y)}` : `H${sx(f.x)} V${sy(f.y)}`)).join(" ") + ` H${rx} V${ry} Z`;
    }
  }
  const xLabel = `${objectives[ix]!.metric} (${objectives[ix]!.direction})`;
  const yLabel = `${objectives[iy]!.metric} (${objectives[iy]!.direction})`;

  return (
    <div class="scroll-x">
      <svg class="pareto" width={W} height={H} data-testid="pareto-chart">
        <rect x={PAD.left} y={PAD.top} width={W - PAD.left - PAD.right} height={H - PAD.top - PAD.bottom} fill="none" stroke="#d1d5db" />
        {ticks(xLo, xHi).map((v) => (
          <text key={`x${v}`} x={sx(v)} y={H - PAD.bottom + 14} text-anchor="middle" class="tick">
            {fmt(v, 3)}
          </text>
        ))}
        {ticks(yLo, yHi).map((v) => (
          <text key={`y${v}`} x={PAD.left - 4} y={sy(v) + 4} text-anchor="end" class="tick">
            {fmt(v, 3)}
          </text>
        ))}
        <text x={(PAD.left + W - PAD.right) / 2} y={H - 6} text-anchor="middle" class="axis-title">
          {xLabel}
        </text>
        <text x={12} y={(PAD.top + H - PAD.bottom) / 2} text-anchor="middle" class="axis-title" transform={`rotate(-90 12 ${(PAD.top + H - PAD.bottom) / 2})`}>
          {yLabel}
        </text>
        {region && <path d={region} fill="rgba(220,38,38,0.08)" stroke="none" data-testid="pareto-region" />}
        {points
          .filter((p) => !onFront.has(p.t.id))
          .map((p) => (
            <circle
              key={p.t.id}
              class="trial-point"
              cx={sx(p.x)}
              cy={sy(p.y)}
              r={3}
              fill={p.infeasible ? "none" : "#60a5fa"}
              stroke={p.infeasible ? "#9ca3af" : "#2563eb"}
              fill-opacity={0.7}
              onClick={() => onOpen?.(p.t.id)}
            >
              <title>{`#${p.t.seq}: ${fmt(p.x)}, ${fmt(p.y)}${p.infeasible ? " (breaks a constraint)" : ""}`}</title>
            </circle>
          ))}
        {stairPath && <path d={stairPath} fill="none" stroke="#dc2626" stroke-width={1.5} />}
        {front.map((f) => (
          <circle key={f.id} class="front-point" data-testid="pareto-front-point" cx={sx(f.x)} cy={sy(f.y)} r={5} fill="#dc2626" stroke="#7f1d1d" onClick={() => onOpen?.(f.id)}>
            <title>{`#${f.seq} on the front: ${fmt(f.x)}, ${fmt(f.y)}`}</title>
          </circle>
        ))}
        {ref && (
          <g data-testid="pareto-reference">
            <path d={`M${sx(ref[ix]!) - 5},${sy(ref[iy]!) - 5} l10,10 m0,-10 l-10,10`} stroke="#111827" stroke-width={1.5} />
            <title>{`reference point ${fmt(ref[ix])}, ${fmt(ref[iy])}`}</title>
          </g>
        )}
      </svg>
    </div>
  );
}
