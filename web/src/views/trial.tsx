/**
 * One trial: status (step x of N and ETA while it runs), objective and metrics, its architecture as a diagram, its
 * learning curve, its files (a flow's density and sample images; text shown as text) and, for a language model,
 * the text it generated (the `sample` metric). Refreshed every 2 s while it is queued or running.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ArchitectureDiagram } from "../charts/architecture";
import { fmt } from "../charts/scale";
import { Card, duration, ErrorLine, Link, Status } from "../components";
import type { SearchDetail, SpaceDefinition, TrialDetail } from "../types";
import { CurvesChart } from "./curves";

/** Files shown in the page: images (a flow's density and samples) and text. Others (a model's weights) are downloaded on request. */
const SHOWN = /\.(png|jpe?g|gif|svg|txt|md)$/i;
const isImage = (name: string) => /\.(png|jpe?g|gif|svg)$/i.test(name);

function Artifact({ name, url }: { name: string; url: string }) {
  const [file, setFile] = useState<{ dataUrl: string; contentType: string; text?: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const shown = SHOWN.test(name);
  useEffect(() => {
    if (shown) api.artifact(url).then(setFile, (e: Error) => setError(e.message));
  }, [url, shown]);
  return (
    <figure class="artifact" data-testid="artifact" data-name={name}>
      {!shown ? (
        <button class="link-button" onClick={() => void api.download(url, name).catch((e: Error) => setError(e.message))}>
          download
        </button>
      ) : error ? null : !file ? (
        <p class="muted">loading…</p>
      ) : file.contentType.startsWith("image/") ? (
        <img src={file.dataUrl} alt={name} />
      ) : file.text !== undefined ? (
        <pre class="text">{file.text}</pre>
      ) : (
        <a href={file.dataUrl} download={name}>
          download
        </a>
      )}
      <ErrorLine error={error} />
      <figcaption>{name}</figcaption>
    </figure>
  );
}

export function TrialView({ id }: { id: string }) {
  const [trial, setTrial] = useState<TrialDetail | null>(null);
  const [search, setSearch] = useState<SearchDetail | null>(null);
  const [space, setSpace] = useState<SpaceDefinition | undefined>();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const t = await api.trial(id);
        if (stop) return;
        setTrial(t);
        if (t.status === "queued" || t.status === "running") timer = setTimeout(load, 2000);
      } catch (e) {
        if (!stop) setError((e as Error).message);
      }
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id]);

  useEffect(() => {
    if (!trial?.searchId) return;
    api.search(trial.searchId).then((s) => {
      setSearch(s);
      api.space(s.space).then(setSpace, () => undefined);
    }, () => undefined);
  }, [trial?.searchId]);

  if (!trial) return error ? <ErrorLine error={error} /> : <p class="muted">Loading…</p>;
  const metrics = Object.entries(trial.metrics ?? {});
  const numbers = metrics.filter(([, v]) => typeof v === "number" || typeof v === "boolean" || (typeof v === "string" && v.length < 80));
  const sample = typeof trial.metrics?.sample === "string" && trial.metrics.sample.length ? (trial.metrics.sample as string) : null;
  const textArtifacts = trial.artifacts.filter((a) => /\.(txt|md)$/.test(a.name));
  const ran = trial.startedAt ? ((trial.finishedAt ? Date.parse(trial.finishedAt) : Date.now()) - Date.parse(trial.startedAt)) / 1000 : null;

  return (
    <div>
      <div class="toolbar">
        <h2>
          trial #{trial.seq} <Status status={trial.status} />
        </h2>
        <Link to={`/searches/${trial.searchId}`}>← {search ? search.name : "its search"}</Link>
      </div>
      <ErrorLine error={trial.error} />
      <div class="summary">
        <dl>
          <dt>{search?.objective.metric ?? "objective"}</dt>
          <dd data-testid="trial-objective">{fmt(trial.objective)}</dd>
          {trial.status === "running" && trial.budgetSteps ? (
            <>
              <dt>progress</dt>
              <dd>
                step {trial.step ?? 0} / {trial.budgetSteps}
                {trial.etaSeconds !== null && trial.etaSeconds !== undefined ? ` · ETA ${duration(trial.etaSeconds)}` : ""}
              </dd>
            </>
          ) : null}
          <dt>kind</dt>
          <dd>{trial.kind}</dd>
          <dt>parent</dt>
          <dd>{trial.parentId ? <Link to={`/trials/${trial.parentId}`}>{trial.parentId.slice(0, 8)}</Link> : "–"}</dd>
          <dt>worker</dt>
          <dd>
            {trial.worker ?? "–"}
            {trial.backend ? ` (${trial.backend})` : ""}
          </dd>
          <dt>ran</dt>
          <dd>
            {duration(ran)} · {trial.attempts} attempt{trial.attempts === 1 ? "" : "s"}
          </dd>
          <dt>architecture hash</dt>
          <dd class="mono">{trial.archHash}</dd>
        </dl>
      </div>
      <div class="cards">
        <Card title="architecture" testId="trial-architecture">
          <ArchitectureDiagram family={space?.family} architecture={trial.architecture} />
        </Card>
        <Card title="learning curve" testId="trial-curve">
          {search ? <CurvesChart trials={[trial]} curves={new Map([[trial.id, trial.curve]])} search={search} testId="trial-curve-plot" /> : <p class="muted">…</p>}
        </Card>
        <Card title="metrics" testId="trial-metrics">
          {numbers.length ? (
            <table class="kv">
              <tbody>
                {numbers.map(([k, v]) => (
                  <tr key={k}>
                    <th>{k}</th>
                    <td>{typeof v === "number" ? fmt(v, 6) : String(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">No metrics yet.</p>
          )}
        </Card>
        {sample && (
          <Card title="generated text (the trained model's sample)" wide testId="trial-sample">
            <pre class="text">{sample}</pre>
          </Card>
        )}
        {trial.artifacts.length > 0 && (
          <Card title="files" wide testId="trial-artifacts">
            <div class="artifacts">
              {[...trial.artifacts]
                .sort((a, b) => Number(isImage(b.name)) - Number(isImage(a.name)) || a.name.localeCompare(b.name))
                .map((a) => (
                  <Artifact key={a.name} name={a.name} url={a.url} />
                ))}
            </div>
            {textArtifacts.length > 0 && <p class="muted small">Text files are shown as text.</p>}
          </Card>
        )}
      </div>
    </div>
  );
}
