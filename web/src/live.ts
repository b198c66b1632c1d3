/**
 * A search kept up to date in the page: loaded over REST, then patched from its events stream (trial changes,
 * curve points, new best, status). Events also trigger a throttled REST reload, which brings the fields events do
 * not carry (timestamps, sequence numbers). Where the API has no events route the search is polled every 2 s
 * while it is active.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { EventsUnavailable, searchEvents } from "./events";
import { isActive, type CurvePoint, type SearchDetail, type Trial } from "./types";

export interface LiveSearch {
  search?: SearchDetail;
  trials: Trial[];
  /** Curve points that arrived as events, per trial (REST curves are loaded by whoever shows them). */
  liveCurves: Map<string, CurvePoint[]>;
  /** Bumped on every change, so memoised views recompute. */
  version: number;
  mode: "loading" | "events" | "polling" | "ended";
  error?: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export function useSearchLive(id: string): LiveSearch {
  const [state, setState] = useState<LiveSearch>({ trials: [], liveCurves: new Map(), version: 0, mode: "loading" });

  useEffect(() => {
    const ctrl = new AbortController();
    const { signal } = ctrl;
    let search: SearchDetail | undefined;
    let trials = new Map<string, Trial>();
    const liveCurves = new Map<string, CurvePoint[]>();
    let mode: LiveSearch["mode"] = "loading";
    let error: string | undefined;
    let version = 0;

    // Renders at most every 100 ms: a replay of a long search is hundreds of events.
    let publishTimer: ReturnType<typeof setTimeout> | undefined;
    const publish = () => {
      if (publishTimer || signal.aborted) return;
      publishTimer = setTimeout(() => {
        publishTimer = undefined;
        if (signal.aborted) return;
        setState({ search, trials: [...trials.values()].sort((a, b) => a.seq - b.seq), liveCurves, version: ++version, mode, error });
      }, 100);
    };
    const reload = async () => {
      const [s, t] = await Promise.all([api.search(id), api.trials(id)]);
      search = s;
      trials = new Map(t.map((x) => [x.id, x]));
      error = undefined;
      publish();
    };
    let reloadTimer: ReturnType<typeof setTimeout> | undefined;
    const reloadSoon = () => {
      if (reloadTimer) return;
      reloadTimer = setTimeout(() => {
        reloadTimer = undefined;
        if (!signal.aborted) reload().catch(() => undefined);
      }, 1500);
    };

    // The event types of GET /v1/searches/:id/events (docs: contracts of issue 15); others are ignored.
    const apply = (type: string, data: unknown) => {
      if (!data || typeof data !== "object") return;
      const d = data as Record<string, unknown>;
      switch (type) {
        case "search":
        case "end":
          // The search JSON as a list item has no `trials` counts or `bestSoFar`: the detail's stay until a reload.
          search = { ...search, ...(d as unknown as SearchDetail) };
          break;
        case "trial.queued":
        case "trial.started":
        case "trial.completed":
        case "trial.pruned":
        case "trial.failed":
        case "trial.cancelled": {
          if (typeof d.id !== "string") return;
          const known = trials.get(d.id);
          const patch = Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as Partial<Trial>;
          const fallback = { seq: trials.size, queuedAt: new Date().toISOString(), kind: "trial", status: type.slice("trial.".length) } as Trial;
          trials.set(d.id, { ...(known ?? fallback), ...patch } as Trial);
          // A finished trial moves the best-so-far series, which only the REST detail carries.
          if (type !== "trial.queued" && type !== "trial.started") reloadSoon();
          break;
        }
        case "curve": {
          const trialId = d.trialId as string;
          if (typeof trialId !== "string" || typeof d.step !== "number") return;
          const points = liveCurves.get(trialId) ?? [];
          const metrics = (d.metrics ?? {}) as Record<string, number>;
          points.push({ step: d.step, values: metrics });
          liveCurves.set(trialId, points);
          // The trial's `step` follows its curve (etaSeconds waits for the next trial event or reload).
          const t = trials.get(trialId);
          if (t && (t.step ?? -1) < d.step) trials.set(trialId, { ...t, step: d.step });
          break;
        }
        case "best":
          if (search) search = { ...search, best: d as SearchDetail["best"] };
          break;
        default:
          return;
      }
      publish();
    };

    const poll = async () => {
      mode = "polling";
      publish();
      while (!signal.aborted && search && isActive(search)) {
        await sleep(2000, signal);
        if (signal.aborted) return;
        await reload().catch((e: Error) => ((error = e.message), publish()));
      }
      mode = "ended";
      publish();
    };

    (async () => {
      try {
        await reload();
      } catch (e) {
        error = (e as Error).message;
        publish();
        return;
      }
      try {
        mode = "events";
        publish();
        for await (const event of searchEvents(id, signal)) apply(event.type, event.data);
        if (signal.aborted) return;
        mode = "ended";
        await reload();
      } catch (e) {
        if (signal.aborted) return;
        if (!(e instanceof EventsUnavailable)) error = `events: ${(e as Error).message}; polling instead`;
        await poll();
      }
    })();

    return () => {
      ctrl.abort();
      clearTimeout(publishTimer);
      clearTimeout(reloadTimer);
    };
  }, [id]);

  return state;
}
