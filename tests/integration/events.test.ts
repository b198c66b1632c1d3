/**
 * GET /v1/searches/:id/events over real HTTP (two API processes' apps listening on ports, an orchestrator and a
 * trainer in this process, the real PostgreSQL and Redis of this run): a benchmark search under ASHA streams its
 * events in order to the end, identically from both APIs; Last-Event-ID resumes with exactly the rest; another
 * project's key gets a 404; a client that goes away leaves no listener behind.
 */
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { createClient, type Client } from "../../src/client/http.js";
import { searchEvents, type SearchEvent } from "../../src/client/events.js";
import { startApi, startOrchestrator, startTrainer, type ProcessHandle } from "../../src/processes.js";
import { freePort, waitFor } from "../setup/env.js";
import { openServices } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
const processes: ProcessHandle[] = [];
const bases: string[] = [];
let key: string;
let otherKey: string;

const SEARCH = {
  name: "events",
  space: "nasbench201",
  strategy: { type: "random" },
  evaluator: { type: "benchmark", dataset: "cifar10" },
  objective: { metric: "test_accuracy", direction: "maximize" },
  scheduler: { type: "asha", minBudget: 1, maxBudget: 9, eta: 3 },
  budget: { maxTrials: 12, maxParallel: 4 },
  seed: 5,
};

async function collect(client: Client, id: string, lastEventId?: number): Promise<SearchEvent[]> {
  const out: SearchEvent[] = [];
  for await (const e of searchEvents(client, id, { lastEventId, signal: AbortSignal.timeout(60_000) })) out.push(e);
  return out;
}

/** LISTEN connections of this run's database (the API processes' event notifiers). */
async function listeners(): Promise<number> {
  const { rows } = await services.db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN search_events%' AND pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

beforeAll(async () => {
  services = await openServices({ QUEUE_PREFIX: `${inject("queuePrefix")}_events` });
  const config = { ...services.config, ORCHESTRATOR_CONCURRENCY: 2, TRAINER_CONCURRENCY: 4, WORKER_NAME: "events", LOG_LEVEL: "silent" as const, EVENTS_POLL_MS: 5000 };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const api = await startApi({ ...config, PORT: port, HOST: "127.0.0.1" }, { logger: false });
    processes.push(api);
    bases.push(`http://127.0.0.1:${port}`);
  }
  key = (await services.key("events-a")).key;
  otherKey = (await services.key("events-b")).key;
  processes.push(await startOrchestrator(config), await startTrainer(config));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.close()));
  await services.close();
});

describe("live events of a search", () => {
  it("streams a search's events in order to `end`, the same from two API processes, and resumes after Last-Event-ID with exactly the rest", async () => {
    const [one, two] = bases.map((baseUrl) => createClient({ baseUrl, apiKey: key }));
    const created = await one!.createSearch(SEARCH);
    // Both streams are open while the search runs (EVENTS_POLL_MS is 5 s here: NOTIFY is what keeps them live).
    const [a, b] = await Promise.all([collect(one!, created.id), collect(two!, created.id)]);

    expect(a.map((e) => [e.id, e.type])).toEqual(b.map((e) => [e.id, e.type]));
    const ids = a.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    const end = a.at(-1)!;
    expect(end.type).toBe("end");
    expect(end.data).toMatchObject({ id: created.id, status: "completed", progress: { budget: 12 } });

    // Every trial: queued, then started, then its end; the finished ones make the budget.
    const trials = await one!.allTrials(created.id);
    expect(trials).toHaveLength(12);
    for (const t of trials) {
      const mine = a.filter((e) => e.type.startsWith("trial.") && (e.data as { id: string }).id === t.id).map((e) => e.type);
      expect(mine[0]).toBe("trial.queued");
      expect(mine).toContain("trial.started");
      expect(mine.at(-1)).toBe(`trial.${t.status}`);
      const last = a.filter((e) => e.type.startsWith("trial.") && (e.data as { id: string }).id === t.id).at(-1)!;
      expect(last.data).toMatchObject({ id: t.id, seq: t.seq, status: t.status, objective: t.objective, architecture: t.architecture });
    }
    expect(a.filter((e) => e.type === "trial.completed" || e.type === "trial.pruned")).toHaveLength(12);
    // ASHA's rungs are curve points of the trials.
    const curves = a.filter((e) => e.type === "curve").map((e) => e.data as { trialId: string; step: number; metrics: Record<string, number> });
    expect(curves.length).toBeGreaterThanOrEqual(12);
    for (const c of curves) expect([1, 3, 9]).toContain(c.step);
    expect(typeof Object.values(curves[0]!.metrics)[0]).toBe("number");
    // `best` improves each time, and its last is the search's best.
    const bests = a.filter((e) => e.type === "best").map((e) => e.data as { trialId: string; objective: number });
    expect(bests.length).toBeGreaterThan(0);
    for (let i = 1; i < bests.length; i++) expect(bests[i]!.objective).toBeGreaterThan(bests[i - 1]!.objective);
    const detail = await one!.getSearch(created.id);
    expect(bests.at(-1)!.objective).toBe(detail.best!.objective);
    expect(a.some((e) => e.type === "search")).toBe(true);

    // Resume after an event in the middle: exactly the rest (from either API), with the header or the query.
    const middle = a[Math.floor(a.length / 2)]!.id;
    const rest = await collect(two!, created.id, middle);
    expect(rest.map((e) => [e.id, e.type])).toEqual(a.filter((e) => e.id > middle).map((e) => [e.id, e.type]));
    const byQuery = await fetch(`${bases[0]}/v1/searches/${created.id}/events?lastEventId=${end.id - 1}`, { headers: { authorization: `Bearer ${key}` } });
    expect(byQuery.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await byQuery.text()).toMatch(new RegExp(`^id: ${end.id}\nevent: end\ndata: \\{.*\\}\n\n$`));
    // After `end`, nothing more: the stream says it ended and closes.
    const after = await collect(one!, created.id, end.id);
    expect(after.map((e) => e.type)).toEqual(["end"]);
  }, 90_000);

  it("answers 404 (JSON, not a stream) for another project's search, and 400 naming a bad Last-Event-ID", async () => {
    const created = await createClient({ baseUrl: bases[0]!, apiKey: key }).createSearch({ ...SEARCH, budget: { maxTrials: 2, maxParallel: 2 } });
    const other = await fetch(`${bases[1]}/v1/searches/${created.id}/events`, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(other.status).toBe(404);
    expect(other.headers.get("content-type")).toMatch(/application\/json/);
    expect((await other.json()).error).toBe("not_found");
    await expect(collect(createClient({ baseUrl: bases[1]!, apiKey: otherKey }), created.id)).rejects.toMatchObject({ status: 404 });
    const bad = await fetch(`${bases[0]}/v1/searches/${created.id}/events`, { headers: { authorization: `Bearer ${key}`, "last-event-id": "x" } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).issues[0].field).toBe("Last-Event-ID");
    const none = await fetch(`${bases[0]}/v1/searches/${created.id}/events`);
    expect(none.status).toBe(401);
  });

  it("frees a stream's listener when its client goes away", async () => {
    // A search that waits (no trainer can finish it: a cancelled one would end the stream), so the stream stays open.
    const client = createClient({ baseUrl: bases[0]!, apiKey: key });
    const created = await client.createSearch({ ...SEARCH, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 3000 }, budget: { maxTrials: 2, maxParallel: 1 } });
    const abort = new AbortController();
    const seen: SearchEvent[] = [];
    const reading = (async () => {
      for await (const e of searchEvents(client, created.id, { signal: abort.signal })) seen.push(e);
    })();
    await waitFor("the stream's first events", async () => seen.length > 0, 10_000, 50);
    expect(await listeners()).toBeGreaterThan(0);
    abort.abort();
    await reading;
    // No stream is left in either API: their notifiers hang up their LISTEN connections.
    await waitFor("no LISTEN connection left", async () => (await listeners()) === 0, 10_000, 100);
    await client.cancelSearch(created.id).catch(() => {});
  });
});
