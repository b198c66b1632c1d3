/**
 * The models of a search (GET /v1/models?searchId=): its winner retrained on train + validation and scored on test
 * (POST /v1/searches/:id/retrain), each with its status, test scores and a download; a ready language model can be
 * asked for text (POST /v1/models/:id/generate, answered by a trainer). Only `train` searches have models. Reloaded
 * every 3 s while one is training.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { fmt } from "../charts/scale";
import { age, ErrorLine, Link, Status } from "../components";
import type { Model } from "../types";

function Generate({ model }: { model: Model }) {
  const [prompt, setPrompt] = useState("");
  const [text, setText] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="generate"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        api.generate(model.id, { prompt, maxLength: 200 }).then(
          (r) => (setText(r.text), setError(null), setBusy(false)),
          (err: Error) => (setError(err.message), setBusy(false)),
        );
      }}
    >
      <input name="prompt" placeholder="prompt (may be empty)" value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>
        {busy ? "generating…" : "generate"}
      </button>
      <ErrorLine error={error} />
      {text !== null && (
        <pre class="text" data-testid="generated">
          <strong>{prompt}</strong>
          {text}
        </pre>
      )}
    </form>
  );
}

export function ModelsView({ searchId, defaultSteps, canRetrain }: { searchId: string; defaultSteps: number; canRetrain: boolean }) {
  const [models, setModels] = useState<Model[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [steps, setSteps] = useState(String(defaultSteps));
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const load = () =>
      api.models(searchId).then(
        (r) => {
          if (stop) return;
          setModels(r.items);
          if (r.items.some((m) => m.status === "training")) timer = setTimeout(load, 3000);
        },
        (e: Error) => !stop && setError(e.message),
      );
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [searchId, tick]);

  const retrain = () => {
    const n = Number(steps);
    if (!Number.isInteger(n) || n < 1) return setError("steps: a whole number of training steps, at least 1");
    api.retrain(searchId, n).then(
      () => (setError(null), setTick((t) => t + 1)),
      (e: Error) => setError(e.message),
    );
  };

  return (
    <div data-testid="models">
      <div class="toolbar small">
        <label>
          steps <input name="retrain-steps" type="number" min={1} value={steps} onInput={(e) => setSteps(e.currentTarget.value)} style={{ width: "90px" }} />
        </label>
        <button onClick={retrain} disabled={!canRetrain} title={canRetrain ? "retrain the best architecture on train + validation, scored on test" : "no completed trial yet"} data-testid="retrain">
          retrain the best
        </button>
      </div>
      <ErrorLine error={error} />
      {models === null ? (
        <p class="muted">Loading…</p>
      ) : models.length === 0 ? (
        <p class="muted">No model yet: retrain the best architecture to get one.</p>
      ) : (
        <table class="grid small">
          <thead>
            <tr>
              <th>model</th>
              <th>status</th>
              <th>from</th>
              <th>steps</th>
              <th>test scores</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.id} data-testid="model-row">
                <td class="mono">{m.id.slice(0, 8)}</td>
                <td>
                  <Status status={m.status === "ready" ? "completed" : m.status === "training" ? "running" : "failed"} /> {m.status}
                  {m.error && <span class="muted"> {m.error}</span>}
                </td>
                <td>{m.source.trialId ? <Link to={`/trials/${m.source.trialId}`}>trial {m.source.trialId.slice(0, 8)}</Link> : "–"}</td>
                <td>{m.steps}</td>
                <td>
                  {m.scores
                    ? Object.entries(m.scores)
                        .map(([k, v]) => `${k} ${fmt(v)}`)
                        .join(", ")
                    : "–"}
                </td>
                <td title={m.createdAt}>{age(m.createdAt)}</td>
                <td>
                  {m.downloadUrl && (
                    <button class="link-button" onClick={() => void api.download(m.downloadUrl!, `model-${m.id}.json`).catch((e: Error) => setError(e.message))}>
                      download
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {models?.find((m) => m.status === "ready" && m.family === "transformer") && <Generate model={models.find((m) => m.status === "ready" && m.family === "transformer")!} />}
    </div>
  );
}
