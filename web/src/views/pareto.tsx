/**
 * The Pareto view of a search of several objectives: the trade-off chart of two of them (chosen when there are more),
 * the front's hypervolume against its reference point, and the front's trials as a table. Reloaded from
 * GET /v1/searches/:id/pareto as the search moves (at most every ~10 changes while it is active).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ParetoChart } from "../charts/pareto";
import { fmt } from "../charts/scale";
import { ErrorLine, go, Link } from "../components";
import type { SearchPareto, Trial } from "../types";

export function ParetoView({ searchId, trials, active, version }: { searchId: string; trials: Trial[]; active: boolean; version: number }) {
  const [pareto, setPareto] = useState<SearchPareto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [axes, setAxes] = useState<[number, number]>([0, 1]);
  useEffect(() => {
    api.pareto(searchId).then(
      (p) => (setPareto(p), setError(null)),
      (e: Error) => setError(e.message),
    );
  }, [searchId, active ? Math.floor(version / 10) : -1]);

  if (!pareto) return error ? <ErrorLine error={error} /> : <p class="muted">Loading the front…</p>;
  const { objectives } = pareto;
  const pick = (which: 0 | 1, i: number) => setAxes((a) => (which === 0 ? [i, a[1] === i ? a[0] : a[1]] : [a[0] === i ? a[1] : a[0], i]));
  return (
    <div data-testid="pareto">
      <div class="toolbar small">
        <span data-testid="hypervolume">
          hypervolume <strong>{fmt(pareto.hypervolume, 6)}</strong>
        </span>
        <span class="muted">
          {pareto.front.length} on the front · {pareto.feasible} feasible of {pareto.completed} completed
          {pareto.referencePoint ? ` · reference point (${pareto.referencePoint.map((v) => fmt(v)).join(", ")})` : ""}
          {pareto.constraints.length ? ` · constraints: ${pareto.constraints.map((c) => `${c.min !== undefined ? `${c.min} ≤ ` : ""}${c.metric}${c.max !== undefined ? ` ≤ ${c.max}` : ""}`).join(", ")}` : ""}
        </span>
        {objectives.length > 2 &&
          ([0, 1] as const).map((which) => (
            <label key={which}>
              {which === 0 ? "x" : "y"}{" "}
              <select value={axes[which]} onChange={(e) => pick(which, Number(e.currentTarget.value))}>
                {objectives.map((o, i) => (
                  <option key={o.metric} value={i}>
                    {o.metric}
                  </option>
                ))}
              </select>
            </label>
          ))}
      </div>
      <div class="pareto-layout">
        <ParetoChart pareto={pareto} trials={trials} axes={axes} onOpen={(id) => go(`/trials/${id}`)} />
        <table class="grid small" data-testid="pareto-front">
          <thead>
            <tr>
              <th>trial</th>
              {objectives.map((o) => (
                <th key={o.metric}>
                  {o.metric} {o.direction === "maximize" ? "↑" : "↓"}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {pareto.front.slice(0, 30).map((f) => (
              <tr key={f.trialId}>
                <td>
                  <Link to={`/trials/${f.trialId}`}>#{f.seq}</Link>
                </td>
                {f.values.map((v, i) => (
                  <td key={i}>{fmt(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted small">
        Red: the front (no other feasible trial is at least as good in every objective and better in one); shaded: what it dominates up to the reference point, whose volume
        over every objective is the hypervolume. Hollow grey points break a constraint.
      </p>
    </div>
  );
}
