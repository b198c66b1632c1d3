/**
 * One search, live: status and progress, best so far against trials and against wall time, every objective as a
 * scatter, learning curves, parallel coordinates of decisions against the objective, the lineage tree, DARTS' α
 * per edge over time, the best trial's architecture, and the trials table.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type uPlot from "uplot";
import { api } from "../api";
import { ArchitectureDiagram } from "../charts/architecture";
import { LineageTree } from "../charts/lineage";
import { ParallelCoordinates } from "../charts/parallel";
import { colour, Plot, scatterSeries } from "../charts/plot";
import { fmt } from "../charts/scale";
import { age, Best, Card, duration, ErrorLine, go, Link, ProgressBar, Status } from "../components";
import { decisionColumns } from "../decisions";
import { useSearchLive } from "../live";
import { isActive, type AlphaPoint, type SearchDetail, type SpaceDefinition, type Trial } from "../types";
import { CurvesChart, useCurves } from "./curves";
import { ModelsView } from "./models";
import { ParetoView } from "./pareto";
import { progressText, TrialsTable } from "./trials-table";

/** The best objective after each completed trial, in completion order (the API's series, or from the trials). */
function bestSeries(search: SearchDetail, trials: Trial[]) {
  const better = (a: number, b: number) => (search.objective.direction === "maximize" ? a > b : a < b);
  const done = trials.filter((t) => t.status === "completed" && t.objective !== null && t.finishedAt).sort((a, b) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!));
  const t0 = Date.parse(search.startedAt ?? search.createdAt);
  let best: number | undefined;
  const wall: Array<[number, number]> = [];
  for (const t of done) {
    if (best === undefined || better(t.objective!, best)) best = t.objective!;
    wall.push([(Date.parse(t.finishedAt!) - t0) / 1000, best]);
  }
  const byTrial = search.bestSoFar?.length ? search.bestSoFar : wall.map(([, b]) => b);
  return { byTrial, wall };
}

/** Trials per tfjs backend: the search's `backends` (issue 15's contract), else counted from the trials loaded. */
function backendMix(search: SearchDetail, trials: Trial[]): Map<string, number> {
  if (search.backends && typeof search.backends === "object") return new Map(Object.entries(search.backends).filter(([, n]) => typeof n === "number" && n > 0));
  const out = new Map<string, number>();
  for (const t of trials) {
    const b = t.backend ?? (typeof t.metrics?.backend === "string" ? t.metrics.backend : undefined);
    if (b) out.set(b, (out.get(b) ?? 0) + 1);
  }
  return out;
}

function useSpace(id: string | undefined) {
  const [space, setSpace] = useState<SpaceDefinition | undefined>();
  useEffect(() => {
    if (id) api.space(id).then(setSpace, () => setSpace(undefined));
  }, [id]);
  return space;
}

function AlphaCharts({ searchId, active, version }: { searchId: string; active: boolean; version: number }) {
  const [items, setItems] = useState<AlphaPoint[]>([]);
  useEffect(() => {
    api.alphas(searchId).then((r) => setItems(r.items), () => undefined);
  }, [searchId, active ? Math.floor(version / 10) : -1]);
  // The series of the latest supernet job's latest attempt.
  const last = items.at(-1);
  const points = items.filter((p) => p.trialId === last?.trialId && p.attempt === last?.attempt);
  if (!points.length) return <p class="muted">No α recorded yet.</p>;
  const decisions = Object.keys(points[0]!.alphas);
  return (
    <div class="alpha-grid" data-testid="alphas">
      {decisions.map((d) => {
        const candidates = Object.keys(points[0]!.alphas[d] ?? {});
        const data = [points.map((p) => p.step), ...candidates.map((c) => points.map((p) => p.alphas[d]?.[c] ?? null))] as uPlot.AlignedData;
        return (
          <div key={d}>
            <h4>{d}</h4>
            <Plot
              height={180}
              shape={`${d}|${candidates.join(",")}`}
              data={data}
              opts={() => ({ series: [{ label: "step" }, ...candidates.map((c, i) => ({ label: c, stroke: colour(i), width: 1.5 }))], scales: { x: { time: false }, y: { range: [0, 1] } }, axes: [{}, { label: "softmax(α)" }] })}
            />
          </div>
        );
      })}
    </div>
  );
}

/** The trials training now, each with step x of N and its ETA where the API gives them. */
function RunningTrials({ trials }: { trials: Trial[] }) {
  const running = trials.filter((t) => t.status === "running");
  if (!running.length) return null;
  return (
    <ul class="running" data-testid="running-trials">
      {running.slice(0, 12).map((t) => {
        const pct = t.step !== undefined && t.step !== null && t.budgetSteps ? Math.min(100, (100 * t.step) / t.budgetSteps) : null;
        return (
          <li key={t.id} data-testid="running-trial">
            <Link to={`/trials/${t.id}`}>#{t.seq}</Link>
            <span class="mini-bar">
              <span style={{ width: `${pct ?? 0}%` }} />
            </span>
            <span class="small">{progressText(t)}</span>
          </li>
        );
      })}
      {running.length > 12 && <li class="muted small">and {running.length - 12} more</li>}
    </ul>
  );
}

export function SearchView({ id }: { id: string }) {
  const live = useSearchLive(id);
  const { search, trials, version } = live;
  const space = useSpace(search?.space);
  const decisions = useMemo(() => decisionColumns(space, trials), [space, trials]);
  const scoredTrials = useMemo(() => trials.filter((t) => t.kind !== "supernet"), [trials]);
  const curves = useCurves(trials, live.liveCurves, version);
  const [cancelError, setCancelError] = useState<string | null>(null);

  if (!search) return live.error ? <ErrorLine error={live.error} /> : <p class="muted">Loading…</p>;
  const { byTrial, wall } = bestSeries(search, scoredTrials);
  const scatter = scoredTrials.filter((t) => t.objective !== null);
  const bestTrial = search.best ? trials.find((t) => t.id === (search.best!.trialId ?? search.best!.id)) : undefined;
  const backends = backendMix(search, trials);
  const metric = search.objective.metric;
  const darts = search.strategy.type === "darts" || !!search.supernet;
  const multiObjective = (search.objectives?.length ?? 1) > 1;

  return (
    <div>
      <div class="toolbar">
        <h2>
          {search.name} <Status status={search.status} />
        </h2>
        <span class={`live live-${live.mode}`} data-testid="live" data-mode={live.mode} title="how this page follows the search">
          {live.mode === "events" ? "● live" : live.mode === "polling" ? "● polling" : live.mode === "ended" ? "ended" : "…"}
        </span>
        {isActive(search) && (
          <button
            onClick={() =>
              api.cancelSearch(id).then(
                () => setCancelError(null),
                (e: Error) => setCancelError(e.message),
              )
            }
          >
            cancel
          </button>
        )}
      </div>
      <ErrorLine error={cancelError ?? (search.status === "completed" ? null : search.error) ?? live.error} />
      {search.status === "completed" && search.error && <p class="note">{search.error}</p>}
      <div class="summary">
        <ProgressBar search={search} />
        <dl>
          <dt>best {metric}</dt>
          <dd data-testid="best">
            <Best search={search} /> ({search.objective.direction})
          </dd>
          <dt>strategy</dt>
          <dd>
            {search.strategy.type}
            {search.scheduler ? ` + ${search.scheduler.type} (budgets ${search.scheduler.minBudget}…${search.scheduler.maxBudget})` : ""}
          </dd>
          <dt>space / task</dt>
          <dd>
            {search.space} / {search.task}
          </dd>
          <dt>evaluator</dt>
          <dd>{search.evaluator.type}</dd>
          <dt>created</dt>
          <dd title={search.createdAt}>{age(search.createdAt)}</dd>
          <dt>ran</dt>
          <dd>{search.startedAt ? duration(((search.finishedAt ? Date.parse(search.finishedAt) : Date.now()) - Date.parse(search.startedAt)) / 1000) : "–"}</dd>
          {search.pareto && (
            <>
              <dt>Pareto front</dt>
              <dd data-testid="pareto-summary">
                {search.pareto.size} trial{search.pareto.size === 1 ? "" : "s"} · hypervolume {fmt(search.pareto.hypervolume, 6)}
              </dd>
            </>
          )}
          {backends.size > 0 && (
            <>
              <dt>backends</dt>
              <dd data-testid="backends">
                {[...backends].map(([b, n]) => `${b} ×${n}`).join(", ")}
                {backends.size > 1 ? " (mixed)" : ""}
              </dd>
            </>
          )}
        </dl>
      </div>

      <RunningTrials trials={scoredTrials} />

      <div class="cards">
        {multiObjective && (
          <Card title={`Pareto front: ${search.objectives!.map((o) => `${o.metric} (${o.direction})`).join(" × ")}`} wide testId="chart-pareto">
            <ParetoView searchId={id} trials={scoredTrials} active={isActive(search)} version={version} />
          </Card>
        )}
        <Card title={`best ${metric} so far, by completed trial`} testId="chart-best-trials">
          <Plot
            testId="best-vs-trials"
            shape="best-trials"
            data={[byTrial.map((_, i) => i + 1), byTrial] as uPlot.AlignedData}
            opts={() => ({ series: [{ label: "trial" }, { label: `best ${metric}`, stroke: colour(0), width: 2 }], scales: { x: { time: false } }, axes: [{ label: "completed trials" }, {}] })}
          />
        </Card>
        <Card title={`best ${metric} so far, by wall time`} testId="chart-best-time">
          <Plot
            testId="best-vs-time"
            shape="best-time"
            data={[wall.map(([t]) => t), wall.map(([, b]) => b)] as uPlot.AlignedData}
            opts={() => ({ series: [{ label: "s" }, { label: `best ${metric}`, stroke: colour(2), width: 2 }], scales: { x: { time: false } }, axes: [{ label: "seconds since start" }, {}] })}
          />
        </Card>
        <Card title={`${metric} of every trial`} testId="chart-scatter">
          <Plot
            testId="objective-scatter"
            shape="scatter"
            data={[scatter.map((t) => t.seq), scatter.map((t) => (t.status === "pruned" ? null : t.objective)), scatter.map((t) => (t.status === "pruned" ? t.objective : null))] as uPlot.AlignedData}
            opts={() => ({ series: [{ label: "trial #" }, scatterSeries("completed", colour(0)), scatterSeries("pruned", colour(1))], scales: { x: { time: false } }, axes: [{ label: "trial # (proposal order)" }, {}] })}
          />
        </Card>
        {(curves.size > 0 || search.scheduler || search.evaluator.type !== "benchmark") && (
          <Card title="learning curves" testId="chart-curves">
            <CurvesChart trials={trials} curves={curves} search={search} />
          </Card>
        )}
        <Card title={`decisions against ${metric}`} wide testId="chart-parallel">
          <ParallelCoordinates columns={decisions} trials={scoredTrials} direction={search.objective.direction} metric={metric} />
        </Card>
        {(search.strategy.type === "evolution" || scoredTrials.some((t) => t.parentId && scoredTrials.some((p) => p.id === t.parentId))) && (
          <Card title="lineage (each trial under the one it was mutated from; the best one's ancestry in red)" wide testId="chart-lineage">
            <LineageTree trials={scoredTrials} direction={search.objective.direction} onOpen={(tid) => go(`/trials/${tid}`)} />
          </Card>
        )}
        {darts && (
          <Card title="DARTS: softmax(α) of each edge over the supernet's steps" wide testId="chart-alphas">
            <AlphaCharts searchId={id} active={isActive(search)} version={version} />
          </Card>
        )}
        {search.evaluator.type === "train" && (
          <Card title="models (the best architecture retrained on train + validation, scored on test)" wide testId="chart-models">
            <ModelsView searchId={id} defaultSteps={4 * (Number((search.evaluator.budget as { steps?: number } | undefined)?.steps) || 200)} canRetrain={!!search.best} />
          </Card>
        )}
        {bestTrial && (
          <Card title={`best architecture (trial #${bestTrial.seq}, ${metric} ${fmt(bestTrial.objective)})`} testId="best-architecture">
            <ArchitectureDiagram family={space?.family} architecture={bestTrial.architecture} />
            <p>
              <Link to={`/trials/${bestTrial.id}`}>open the trial</Link>
            </p>
          </Card>
        )}
      </div>

      <h3>trials</h3>
      <TrialsTable trials={trials} decisions={decisions} metric={metric} direction={search.objective.direction} />
    </div>
  );
}
