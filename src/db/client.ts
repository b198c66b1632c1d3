/**
 * The database handle: the Prisma client on the pg driver adapter (no Rust engine: nothing to download), and the
 * same pg pool underneath for the hot statements (claiming and completing trials, advancing a search, the
 * leaderboard) where Prisma's per-query overhead (~1–3 ms against ~0.2 ms for the pool, measured here) would
 * dominate the work. Only src/db/ holds this handle's statements; the rest of the service calls them.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { isInfraError } from "../core/errors.js";
import { PrismaClient } from "./generated/client.js";

export type Db = PrismaClient & { readonly pool: pg.Pool };

/** Called once per connection that PostgreSQL (or the network) drops; the statement that used it fails by itself. */
export type ConnectionLost = (err: Error) => void;

/**
 * Told of PostgreSQL's availability by every statement of the pool (Prisma's included): `failed` when a statement
 * or a connection fails because PostgreSQL is unavailable, `ok` when one reaches it (core/infra.ts's Outage, which
 * logs an outage once).
 */
export interface ConnectionObserver {
  failed(err: unknown): void;
  /** `startedAt`: when the statement that succeeded was sent. */
  ok(startedAt?: number): void;
}

export function createDb(databaseUrl: string, poolSize = 10, observer: ConnectionLost | ConnectionObserver = () => {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const watch: ConnectionObserver = typeof observer === "function" ? { failed: (err) => observer(err as Error), ok: () => {} } : observer;
  // pg-pool listens for an idle client's `error` only; a client checked out (inside a transaction) that loses its
  // connection emits `error` with nobody listening, which would end the process. Every client gets a listener as it
  // connects; the query in flight rejects on its own and its caller decides.
  pool.on("error", (err) => watch.failed(err));
  pool.on("connect", (client) => client.on("error", (err) => watch.failed(err)));
  if (typeof observer !== "function") observe(pool, watch);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const db = Object.assign(prisma, { pool }) as Db;
  const disconnect = prisma.$disconnect.bind(prisma);
  db.$disconnect = async () => {
    await disconnect();
    await pool.end().catch(() => {});
  };
  return db;
}

/**
 * Reports the outcome of every promise-style `pool.query` and `pool.connect` (what the service's statements, the
 * transactions of `transaction` and Prisma's adapter use) to the observer; callers see the same promises.
 */
function observe(pool: pg.Pool, watch: ConnectionObserver): void {
  // A statement answered proves PostgreSQL is there; a connection handed out does not (it may be an idle one whose
  // server is gone), so connect() reports failures only.
  const report = (p: unknown, proves: boolean) => {
    const sent = Date.now();
    if (p && typeof (p as Promise<unknown>).then === "function") {
      (p as Promise<unknown>).then(
        () => proves && watch.ok(sent),
        (err: unknown) => (isInfraError(err) ? watch.failed(err) : watch.ok(sent)),
      );
    }
    return p;
  };
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  Object.assign(pool, {
    query: (...args: unknown[]) => report(query(...args), true),
    // The callback form (pg-pool's own query() uses it) is passed through: its query reports already.
    connect: (...args: unknown[]) => (typeof args[0] === "function" ? connect(...args) : report(connect(...args), false)),
  });
  // The statements of a client checked out (a transaction's): promise-style ones report; pg-pool's own callback-style
  // ones are pool.query's, which reports already.
  pool.on("connect", (client) => {
    const clientQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
    Object.assign(client, { query: (...args: unknown[]) => report(clientQuery(...args), true) });
  });
}

/** Runs `fn` in one transaction on one connection of the pool (BEGIN … COMMIT, ROLLBACK on error). */
export async function transaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** "ok", or why PostgreSQL does not answer (for /readyz). */
export async function pingDb(db: Db): Promise<string> {
  return db.pool.query("SELECT 1").then(
    () => "ok",
    (e: Error) => `unreachable: ${e.message.split("\n")[0]}`,
  );
}

/** Fails with a one-line reason when PostgreSQL cannot be reached or the schema is not migrated. */
export async function checkDb(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new Error(`PostgreSQL unreachable at ${redact(databaseUrl)}: ${e.message || e.code}`);
  }
  try {
    await client.query(`SELECT 1 FROM "searches" LIMIT 1`);
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") throw new Error("PostgreSQL schema missing: run `npm run db:migrate`");
    throw new Error(`PostgreSQL check failed: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
