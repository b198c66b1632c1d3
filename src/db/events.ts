/**
 * The live events of a search, as PostgreSQL keeps them: triggers write a row per change in the transaction that
 * makes it (prisma/migrations/20261202160000_search_events says which, and why numbering is left to the readers);
 * readers number the committed rows (`sequenceEvents`), read them in order (`readEvents`) and are woken by
 * NOTIFY search_events (`EventNotifier`, one LISTEN connection per API process). Every statement that serves a
 * request is scoped by the request's project: another project's search has no events.
 *
 * Events are kept as long as their search (deleted with it): a client can replay a finished search's history.
 */
import pg from "pg";
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

/** What the triggers write: the type of event, and the trial's row as it was (trial.*) or the event's data. */
export interface StoredEvent {
  seq: number;
  type: string;
  trialId: string | null;
  /** trial.*: the trial's row (column names) as the change left it; curve, best: the event's JSON; search, end: null. */
  data: unknown;
}

export const EVENTS_CHANNEL = "search_events";

/** A key of pg_advisory_xact_lock per search, apart from others' (hashtext of a prefixed id). */
const LOCK_KEY = "search_events:";

/**
 * Numbers the committed events of the search that have no `seq` yet, after the largest given, in `id` order with a
 * search's `end` last (a cancel ends the search and its trials in one transaction: the trials' events come first,
 * so a client that stops at `end` has them all). Serialised per search by an advisory lock that only readers take,
 * so it never waits on the writers' transactions. Returns whether it numbered any.
 */
export async function sequenceEvents(db: Db, scope: Scope, searchId: string): Promise<boolean> {
  const pending = await db.pool.query({
    name: "events-pending",
    text: `SELECT 1 FROM search_events WHERE search_id = $1 AND seq IS NULL LIMIT 1`,
    values: [searchId],
  });
  if (!pending.rowCount) return false;
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [LOCK_KEY + searchId]);
    const { rowCount } = await client.query(
      `WITH base AS (SELECT coalesce(max(seq), 0) AS top FROM search_events WHERE search_id = $1 AND seq IS NOT NULL),
            todo AS (SELECT id, row_number() OVER (ORDER BY (type = 'end'), id) AS n FROM search_events
                     WHERE search_id = $1 AND seq IS NULL
                       AND EXISTS (SELECT 1 FROM searches WHERE id = $1 AND project_id = $2))
       UPDATE search_events e SET seq = base.top + todo.n FROM base, todo WHERE e.id = todo.id`,
      [searchId, scope.projectId],
    );
    await client.query("COMMIT");
    return (rowCount ?? 0) > 0;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The search's numbered events after `afterSeq`, in order, at most `limit` (numbering the new ones first). */
export async function readEvents(db: Db, scope: Scope, searchId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
  await sequenceEvents(db, scope, searchId);
  const { rows } = await db.pool.query<StoredEvent>({
    name: "events-read",
    text: `SELECT e.seq::float8 AS seq, e.type, e.trial_id AS "trialId", e.data FROM search_events e
           WHERE e.search_id = $1 AND e.seq > $3 AND EXISTS (SELECT 1 FROM searches s WHERE s.id = $1 AND s.project_id = $2)
           ORDER BY e.seq LIMIT $4`,
    values: [searchId, scope.projectId, afterSeq, limit],
  });
  return rows;
}

/** Listener of a search's wake-ups; called with no argument (read the events to know what changed). */
type Wake = () => void;

/**
 * One LISTEN connection per API process, shared by every stream it serves: NOTIFY search_events (sent on commit by
 * the triggers) wakes the streams of that search. Connected while someone listens; a lost connection is made again
 * after `retryMs` (the streams poll meanwhile, so nothing is missed, only later).
 */
export class EventNotifier {
  private readonly listeners = new Map<string, Set<Wake>>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly onError: (err: Error) => void = () => {},
    private readonly retryMs = 1000,
  ) {}

  /** Calls `wake` at each change of the search until the returned function is called. */
  subscribe(searchId: string, wake: Wake): () => void {
    let set = this.listeners.get(searchId);
    if (!set) this.listeners.set(searchId, (set = new Set()));
    set.add(wake);
    this.ensureConnected();
    return () => {
      const s = this.listeners.get(searchId);
      s?.delete(wake);
      if (s && s.size === 0) this.listeners.delete(searchId);
      if (this.listeners.size === 0) this.disconnect();
    };
  }

  /** Listeners in this process (for tests: none are left behind by closed streams). */
  get size(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  get connected(): boolean {
    return this.client !== null && this.connecting === null;
  }

  private ensureConnected(): void {
    if (this.closed || this.client || this.connecting) return;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    this.client = client;
    const lost = (err: Error) => {
      if (this.client !== client) return;
      this.onError(err);
      this.client = null;
      this.connecting = null;
      void client.end().catch(() => {});
      if (!this.closed && this.listeners.size > 0) this.retry = setTimeout(() => this.ensureConnected(), this.retryMs);
    };
    client.on("error", lost);
    client.on("end", () => lost(new Error("the LISTEN connection ended")));
    client.on("notification", (n) => {
      if (n.channel !== EVENTS_CHANNEL || !n.payload) return;
      for (const wake of this.listeners.get(n.payload) ?? []) wake();
    });
    this.connecting = client
      .connect()
      .then(() => client.query(`LISTEN ${EVENTS_CHANNEL}`))
      .then(
        () => {
          if (this.client === client) this.connecting = null;
          // Changes made while connecting were not heard: every stream reads once more.
          for (const set of this.listeners.values()) for (const wake of set) wake();
        },
        (err: Error) => lost(err),
      );
  }

  private disconnect(): void {
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.connecting = null;
    if (client) {
      client.removeAllListeners("end");
      client.removeAllListeners("notification");
      client.on("error", () => {});
      void client.end().catch(() => {});
    }
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.disconnect();
  }
}

/**
 * The trial row a trial.* event stored (`to_jsonb` of the row: column names, timestamps as text) in the shape the
 * statements of db/trials.ts return, for the same view (api/views.ts trialView).
 */
export function trialRowOfEvent<T>(data: unknown): T {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries((data ?? {}) as Record<string, unknown>)) {
    const field = column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    out[field] = column.endsWith("_at") && typeof value === "string" ? new Date(value) : value;
  }
  return out as T;
}
