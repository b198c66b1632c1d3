/** The searches of the project, newest first: status, progress, best so far, strategy, space, age; cancel. */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { age, Best, ErrorLine, Link, ProgressBar, Status } from "../components";
import { isActive, type SearchSummary } from "../types";

export function SearchesView() {
  const [items, setItems] = useState<SearchSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const page = await api.searches();
        if (stop) return;
        setItems(page.items);
        setError(null);
        // Active searches move: refresh every 2 s while any is, every 10 s otherwise.
        timer = setTimeout(load, page.items.some(isActive) ? 2000 : 10_000);
      } catch (e) {
        if (stop) return;
        setError((e as Error).message);
        if (!(e instanceof ApiError && e.status === 401)) timer = setTimeout(load, 5000);
      }
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [tick]);

  const cancel = async (id: string) => {
    try {
      await api.cancelSearch(id);
      setTick((t) => t + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div>
      <div class="toolbar">
        <h2>Searches</h2>
        <Link to="/new" testId="new-search">
          <span class="button">New search</span>
        </Link>
      </div>
      <ErrorLine error={error} />
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No searches yet: start one with “New search”.</p>
      ) : (
        <table class="grid" data-testid="searches">
          <thead>
            <tr>
              <th>name</th>
              <th>status</th>
              <th class="progress-col">progress</th>
              <th>best</th>
              <th>strategy</th>
              <th>space / task</th>
              <th>age</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-testid="search-row" data-id={s.id}>
                <td>
                  <Link to={`/searches/${s.id}`}>{s.name}</Link>
                </td>
                <td>
                  <Status status={s.status} />
                </td>
                <td>
                  <ProgressBar search={s} />
                </td>
                <td>
                  <Best search={s} /> <span class="muted small">{s.objective.metric}</span>
                </td>
                <td>
                  {s.strategy.type}
                  {s.scheduler ? ` + ${s.scheduler.type}` : ""}
                </td>
                <td>
                  {s.space} <span class="muted small">{s.task}</span>
                </td>
                <td title={s.createdAt}>{age(s.createdAt)}</td>
                <td>{isActive(s) && <button onClick={() => void cancel(s.id)}>cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
