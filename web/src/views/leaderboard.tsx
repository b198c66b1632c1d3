/**
 * The leaderboard of a space and task (GET /v1/leaderboard): the best distinct architectures across every search,
 * each linked to its trial and its search. The boards to choose from come from GET /v1/leaderboard/boards (every
 * space, task and metric with entries in the project); against an API without that route the spaces are the
 * catalogue's and the tasks those of the space's searches. The filters live in the URL
 * (#/leaderboard?space=…&task=…&metric=…).
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { fmt } from "../charts/scale";
import { ErrorLine, go, Link } from "../components";
import { show } from "../decisions";
import type { Architecture, Board, Leaderboard, SpaceSummary } from "../types";

const summary = (a: Architecture) =>
  Object.entries(a)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.length}]` : show(v)}`)
    .join(" ");

const unique = (xs: string[]) => [...new Set(xs)].sort();

export function LeaderboardView({ query }: { query: URLSearchParams }) {
  const space = query.get("space") ?? "";
  const task = query.get("task") ?? "";
  const metric = query.get("metric") ?? "";
  /** null: the API has no boards index (404); undefined: not loaded yet. */
  const [boards, setBoards] = useState<Board[] | null | undefined>(undefined);
  const [spaces, setSpaces] = useState<SpaceSummary[]>([]);
  const [searchTasks, setSearchTasks] = useState<string[]>([]);
  const [board, setBoard] = useState<Leaderboard | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** Names of the project's newest searches, for the rows' links (others show their id). */
  const [names, setNames] = useState<Map<string, string>>(new Map());

  const navigate = (next: Record<string, string>) => {
    const q = new URLSearchParams(Object.entries({ space, task, metric, ...next }).filter(([, v]) => v));
    go(`/leaderboard?${q}`);
  };

  useEffect(() => {
    api.boards().then(
      (r) => setBoards(r.items),
      (e: Error) => {
        setBoards(null);
        if (!(e instanceof ApiError && e.status === 404)) setError(e.message);
      },
    );
    api.searches(200).then(
      ({ items }) => setNames(new Map(items.map((x) => [x.id, x.name]))),
      () => undefined,
    );
    api.spaces().then(
      ({ items }) => setSpaces(items),
      (e: Error) => setError(e.message),
    );
  }, []);

  const boardSpaces = useMemo(() => (boards ? unique(boards.map((b) => b.space)) : spaces.map((s) => s.id)), [boards, spaces]);
  const tasks = useMemo(() => (boards ? unique(boards.filter((b) => b.space === space).map((b) => b.task)) : searchTasks), [boards, space, searchTasks]);
  const metrics = useMemo(() => (boards ? unique(boards.filter((b) => b.space === space && b.task === task).map((b) => b.metric)) : []), [boards, space, task]);

  // Fill in what the URL leaves out: with the index, the board with most entries (of the space, of the task); without
  // it, a space only (the API then picks the task of the space's newest search).
  useEffect(() => {
    if (boards === undefined) return;
    if (boards) {
      const fits = (b: Board) => (!space || b.space === space) && (!task || b.task === task) && (!metric || b.metric === metric);
      if (space && task && metric && boards.some(fits)) return;
      const pick = [...boards].sort((a, b) => b.entries - a.entries).find(fits) ?? [...boards].sort((a, b) => b.entries - a.entries).find((b) => !space || b.space === space);
      if (pick && (pick.space !== space || pick.task !== task || pick.metric !== metric)) navigate({ space: pick.space, task: pick.task, metric: pick.metric });
    } else if (!space && spaces.length) navigate({ space: spaces.find((s) => s.id === "nasbench201")?.id ?? spaces[0]!.id });
  }, [boards, spaces, space, task, metric]);

  useEffect(() => {
    if (!space || boards !== null) return;
    // Without the index: the tasks with a board in this space are those of its searches.
    api.searchesOfSpace(space).then((items) => setSearchTasks(unique(items.map((s) => s.task))), () => setSearchTasks([]));
  }, [space, boards]);

  useEffect(() => {
    if (!space || boards === undefined || (boards && (!task || !metric))) return;
    setError(null);
    api.leaderboard({ space, task: task || undefined, metric: metric || undefined, limit: 50 }).then(setBoard, (e: Error) => {
      setBoard(null);
      setError(e.message);
    });
  }, [space, task, metric, boards === undefined]);

  const direction = boards?.find((b) => b.space === board?.space && b.task === board?.task && b.metric === board?.metric)?.direction;

  return (
    <div>
      <div class="toolbar">
        <h2>Leaderboard</h2>
        <label>
          space{" "}
          <select name="space" value={space} onChange={(e) => navigate({ space: e.currentTarget.value, task: "", metric: "" })}>
            {!boardSpaces.includes(space) && <option value={space}>{space || "–"}</option>}
            {boardSpaces.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          task{" "}
          <select name="task" value={task} onChange={(e) => navigate({ task: e.currentTarget.value, metric: "" })}>
            {boards ? !tasks.includes(task) && <option value={task}>{task || "–"}</option> : <option value="">(the space's newest)</option>}
            {tasks.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        {boards ? (
          <label>
            metric{" "}
            <select name="metric" value={metric} onChange={(e) => navigate({ metric: e.currentTarget.value })}>
              {!metrics.includes(metric) && <option value={metric}>{metric || "–"}</option>}
              {metrics.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            metric <input name="metric" value={metric} placeholder="(the objective)" onChange={(e) => navigate({ metric: e.currentTarget.value })} />
          </label>
        )}
        {boards && (
          <span class="muted small" data-testid="boards">
            {boards.length} board{boards.length === 1 ? "" : "s"} in this project
          </span>
        )}
      </div>
      <ErrorLine error={error} />
      {boards && !boards.some((b) => b.space === space && b.task === task && b.metric === metric) && (
        <p class="muted" data-testid="no-board">
          {boards.length ? `No leaderboard for ${space || "this space"}${task ? ` / ${task}` : ""} yet: choose another above.` : "No leaderboards yet: they fill as trials complete."}
        </p>
      )}
      {board && (
        <>
          <p class="muted">
            {board.space} / {board.task ?? "–"} / {board.metric ?? "–"}, all searches of the project
          </p>
          {board.rows.length === 0 ? (
            <p class="muted">No completed trials on this board yet.</p>
          ) : (
            <table class="grid" data-testid="leaderboard">
              <thead>
                <tr>
                  <th>rank</th>
                  <th>
                    {board.metric}
                    {direction ? (direction === "maximize" ? " ↑" : " ↓") : ""}
                  </th>
                  <th>architecture</th>
                  <th>trial</th>
                  <th>search</th>
                </tr>
              </thead>
              <tbody>
                {board.rows.map((r) => (
                  <tr key={r.archHash}>
                    <td>{r.rank}</td>
                    <td>{fmt(r.objective)}</td>
                    <td class="mono small">{summary(r.architecture)}</td>
                    <td>
                      <Link to={`/trials/${r.trialId}`}>{r.trialId.slice(0, 8)}</Link>
                    </td>
                    <td>
                      <Link to={`/searches/${r.searchId}`}>{names.get(r.searchId) ?? r.searchId.slice(0, 8)}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </div>
  );
}
