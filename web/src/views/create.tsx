/**
 * Create a search: a form generated from the request schema of `POST /v1/searches` in the API's OpenAPI document
 * (strategy, evaluator and scheduler with the chosen variant's options, objective, budget, seed), or the body pasted
 * as JSON. Choosing a space fills the evaluator and objective that fit its family; the server still checks it all
 * and its error, naming the field, is shown as it comes.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type JsonSchema } from "../api";
import { ErrorLine, go } from "../components";
import { ObjectFields, UnionField } from "../schema-form";
import type { SpaceSummary } from "../types";

type Body = Record<string, unknown> & { strategy?: Record<string, unknown>; evaluator?: Record<string, unknown>; scheduler?: Record<string, unknown> };

/** What a space of each family is usually searched with (the README's examples). */
function defaultsFor(space: SpaceSummary): Partial<Body> {
  if (space.family === "nasbench201") return { evaluator: { type: "benchmark", dataset: "cifar10" }, objective: { metric: "test_accuracy", direction: "maximize" } };
  if (space.family === "transformer") return { evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 100 } }, objective: { metric: "val_bpc", direction: "minimize" } };
  if (space.family === "flow")
    return space.id.includes("mnist")
      ? { evaluator: { type: "train", task: "mnist", budget: { steps: 200 } }, objective: { metric: "bits_per_dim", direction: "minimize" } }
      : { evaluator: { type: "train", task: "8gaussians", budget: { steps: 300 } }, objective: { metric: "gap_nats", direction: "minimize" } };
  return {};
}

/** The body's fields this form lays out itself; any other the schema has is shown, generated, under "more". */
const SHOWN = ["name", "space", "seed", "strategy", "evaluator", "objective", "budget", "scheduler"];

const METRICS = ["test_accuracy", "val_bpc", "val_loss", "accuracy", "gap_nats", "test_nll", "val_nll", "bits_per_dim"];

export function CreateSearchView() {
  const [schema, setSchema] = useState<JsonSchema | null>(null);
  const [spaces, setSpaces] = useState<SpaceSummary[]>([]);
  const [body, setBody] = useState<Body>({ name: `search-${new Date().toISOString().slice(0, 16).replace("T", "-")}`, strategy: { type: "random" }, budget: { maxTrials: 50, maxParallel: 4 }, seed: 0 });
  const [mode, setMode] = useState<"form" | "json">("form");
  const [json, setJson] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api
      .openapi()
      .then((doc) => setSchema(doc.paths["/v1/searches"]?.post?.requestBody?.content["application/json"]?.schema ?? null))
      .catch((e: Error) => setError(`could not read the OpenAPI document: ${e.message}`));
    api
      .spaces()
      .then(({ items }) => {
        setSpaces(items);
        const first = items.find((s) => s.id === "nasbench201") ?? items[0];
        if (first) setBody((b) => ({ ...b, space: first.id, ...defaultsFor(first) }));
      })
      .catch((e: Error) => setError(e.message));
  }, []);

  const props = schema?.properties ?? {};
  const set = (k: string, v: unknown) =>
    setBody((b) => {
      const next = { ...b };
      if (v === undefined) delete next[k];
      else next[k] = v;
      return next;
    });
  const space = useMemo(() => spaces.find((s) => s.id === body.space), [spaces, body.space]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let payload: unknown = body;
    if (mode === "json") {
      try {
        payload = JSON.parse(json);
      } catch (err) {
        return setError(`the JSON does not parse: ${(err as Error).message}`);
      }
    }
    setBusy(true);
    try {
      const created = await api.createSearch(payload);
      go(`/searches/${created.id}`);
    } catch (err) {
      setError(err instanceof ApiError && err.field ? `${err.field}: ${err.message}` : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="create" onSubmit={(e) => void submit(e)} data-testid="create-form">
      <div class="toolbar">
        <h2>New search</h2>
        <div class="tabs">
          <button type="button" class={mode === "form" ? "active" : ""} onClick={() => setMode("form")}>
            form
          </button>
          <button
            type="button"
            class={mode === "json" ? "active" : ""}
            data-testid="json-mode"
            onClick={() => {
              setJson(JSON.stringify(body, null, 2));
              setMode("json");
            }}
          >
            JSON
          </button>
        </div>
      </div>
      {mode === "json" ? (
        <textarea name="json" class="json" rows={24} value={json} onInput={(e) => setJson(e.currentTarget.value)} spellcheck={false} />
      ) : !schema ? (
        <p class="muted">Loading the request schema…</p>
      ) : (
        <div class="form-grid">
          <fieldset>
            <legend>search</legend>
            <label class="field">
              <span class="field-name">name *</span>
              <input name="name" value={String(body.name ?? "")} onInput={(e) => set("name", e.currentTarget.value)} required />
            </label>
            <label class="field">
              <span class="field-name">space *</span>
              <select
                name="space"
                value={String(body.space ?? "")}
                onChange={(e) => {
                  const s = spaces.find((x) => x.id === e.currentTarget.value);
                  setBody((b) => ({ ...b, space: e.currentTarget.value, ...(s ? defaultsFor(s) : {}) }));
                }}
              >
                {spaces.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.id}
                  </option>
                ))}
              </select>
              {space && <small class="hint">{space.description.split(". ")[0]}. {space.decisions} decisions, {space.size.toExponential(2)} architectures.</small>}
            </label>
            {props.seed && <ObjectFields path="" schema={{ properties: { seed: props.seed } }} value={body} onChange={(v) => set("seed", v.seed)} />}
          </fieldset>
          {props.strategy && <UnionField path="strategy" label="strategy" schema={props.strategy} value={body.strategy} onChange={(v) => set("strategy", v)} />}
          {props.evaluator && <UnionField path="evaluator" label="evaluator" schema={props.evaluator} value={body.evaluator} onChange={(v) => set("evaluator", v)} />}
          <fieldset>
            <legend>objective</legend>
            <label class="field">
              <span class="field-name">metric *</span>
              <input
                name="objective.metric"
                list="metrics"
                value={String((body.objective as { metric?: string } | undefined)?.metric ?? "")}
                onInput={(e) => set("objective", { ...(body.objective as object), metric: e.currentTarget.value })}
              />
              <datalist id="metrics">
                {METRICS.map((m) => (
                  <option key={m} value={m} />
                ))}
              </datalist>
            </label>
            <label class="field">
              <span class="field-name">direction *</span>
              <select
                name="objective.direction"
                value={String((body.objective as { direction?: string } | undefined)?.direction ?? "maximize")}
                onChange={(e) => set("objective", { ...(body.objective as object), direction: e.currentTarget.value })}
              >
                <option value="maximize">maximize</option>
                <option value="minimize">minimize</option>
              </select>
            </label>
            {props.budget && (
              <fieldset class="nested">
                <legend>budget</legend>
                <ObjectFields path="budget" schema={props.budget} value={(body.budget as Record<string, unknown>) ?? {}} onChange={(v) => set("budget", v)} />
              </fieldset>
            )}
          </fieldset>
          {props.scheduler && <UnionField path="scheduler" label="scheduler (optional)" schema={props.scheduler} value={body.scheduler} onChange={(v) => set("scheduler", v)} optional />}
          {Object.keys(props).some((k) => !SHOWN.includes(k)) && (
            <fieldset>
              <legend>more</legend>
              <ObjectFields path="" schema={{ ...schema, properties: Object.fromEntries(Object.entries(props).filter(([k]) => !SHOWN.includes(k))) }} value={body} onChange={(v) => setBody((b) => ({ ...Object.fromEntries(Object.entries(b).filter(([k]) => SHOWN.includes(k))), ...v }))} />
            </fieldset>
          )}
        </div>
      )}
      <ErrorLine error={error} />
      <div class="toolbar">
        <button type="submit" class="primary" disabled={busy} data-testid="submit-search">
          {busy ? "creating…" : "Create search"}
        </button>
      </div>
    </form>
  );
}
