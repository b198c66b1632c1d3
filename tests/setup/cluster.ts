/**
 * The service as separate processes for end-to-end tests: the API, one orchestrator and N trainers on a database
 * of their own, driven over HTTP.
 */
import { inject } from "vitest";
import { freePort, freshDatabase, startWorker, stopWorkers, testEnv, waitFor, waitForApi, type Started } from "./env.js";

export interface Cluster {
  base: string;
  trainers: Started[];
  get(url: string): Promise<any>;
  post(url: string, body: unknown): Promise<{ status: number; body: any }>;
  /** Polls the search until it ends; returns its final representation. */
  waitForSearch(id: string, timeoutMs: number): Promise<any>;
  /** Every trial of a search, through the paginated API. */
  trials(searchId: string): Promise<any[]>;
  outputs(): string;
  stop(): Promise<void>;
}

export async function startCluster(name: string, opts: { trainers?: number; trainerEnv?: Record<string, string> } = {}): Promise<Cluster> {
  const db = await freshDatabase(name);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = testEnv({ DATABASE_URL: db.url, QUEUE_PREFIX: `${inject("queuePrefix")}_${name}`, PORT: String(port), RECONCILE_INTERVAL_S: "5" });
  const api = startWorker("api", env);
  const procs: Started[] = [api, startWorker("orchestrator", env)];
  const trainers = Array.from({ length: opts.trainers ?? 2 }, () => startWorker("trainer", { ...env, ...opts.trainerEnv }));
  procs.push(...trainers);
  const stop = async () => {
    await stopWorkers(procs);
    await db.drop();
  };
  try {
    await waitForApi(base, api);
  } catch (err) {
    await stop();
    throw err;
  }
  const get = async (url: string) => (await fetch(`${base}${url}`)).json();
  return {
    base,
    trainers,
    get,
    async post(url, body) {
      const res = await fetch(`${base}${url}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    },
    waitForSearch: (id, timeoutMs) =>
      waitFor(`search ${id} to end`, async () => {
        const s = await get(`/v1/searches/${id}`);
        return ["completed", "failed", "cancelled"].includes(s.status) ? s : undefined;
      }, timeoutMs, 500),
    async trials(searchId) {
      const out: any[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: any[]; nextCursor: string | null } = await get(`/v1/searches/${searchId}/trials?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
        out.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    },
    outputs: () => procs.map((p) => `${p.name}: ${p.output().slice(-2000)}`).join("\n"),
    stop,
  };
}
