/**
 * The service as separate processes for end-to-end tests: the API, one orchestrator and N trainers on a database
 * of their own, driven over HTTP.
 */
import { inject } from "vitest";
import { newKey } from "../../src/db/projects.js";
import { freePort, freshDatabase, startWorker, stopWorkers, testEnv, waitFor, waitForApi, type Started } from "./env.js";

export interface Cluster {
  base: string;
  /** An admin key of the cluster's project (API_ADMIN_KEY of its API), sent by get, post and fetch. */
  key: string;
  trainers: Started[];
  /** Every process started so far (stopped by stop()), and the settings they run with. */
  procs: Started[];
  env: Record<string, string>;
  /** Starts one more process of the cluster, with its settings (e.g. to replace one that was killed). */
  start(name: Started["name"], env?: Record<string, string>): Started;
  /** fetch() with the cluster's key. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  get(url: string): Promise<any>;
  post(url: string, body: unknown): Promise<{ status: number; body: any }>;
  /** Polls the search until it ends; returns its final representation. */
  waitForSearch(id: string, timeoutMs: number): Promise<any>;
  /** Every trial of a search, through the paginated API. */
  trials(searchId: string): Promise<any[]>;
  outputs(): string;
  stop(): Promise<void>;
}

/**
 * `database`: a migrated database of the test's own (another PostgreSQL: tests/setup/private-services.ts) instead of a
 * fresh one of this run's; `env`: settings of every process (e.g. REDIS_URL of a private Redis).
 */
export async function startCluster(
  name: string,
  opts: { trainers?: number; trainerEnv?: Record<string, string>; env?: Record<string, string>; database?: { url: string; drop(): Promise<void> } } = {},
): Promise<Cluster> {
  const db = opts.database ?? (await freshDatabase(name));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const key = newKey();
  const env = testEnv({ DATABASE_URL: db.url, QUEUE_PREFIX: `${inject("queuePrefix")}_${name}`, PORT: String(port), RECONCILE_INTERVAL_S: "5", API_ADMIN_KEY: key, ...opts.env });
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
  const authorized = (url: string, init: RequestInit = {}) => fetch(`${base}${url}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
  const get = async (url: string) => (await authorized(url)).json();
  return {
    base,
    key,
    trainers,
    procs,
    env,
    start(which, extra = {}) {
      const p = startWorker(which, { ...env, ...(which === "trainer" ? opts.trainerEnv : {}), ...extra });
      procs.push(p);
      return p;
    },
    fetch: authorized,
    get,
    async post(url, body) {
      const res = await authorized(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
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
