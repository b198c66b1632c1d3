/**
 * The database handle: the Prisma client on the pg driver adapter (no Rust engine: nothing to download), and the
 * same pg pool underneath for the hot statements (claiming and completing trials, advancing a search, the
 * leaderboard) where Prisma's per-query overhead (~1–3 ms against ~0.2 ms for the pool, measured here) would
 * dominate the work. Only src/db/ holds this handle's statements; the rest of the service calls them.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.js";

export type Db = PrismaClient & { readonly pool: pg.Pool };

/** Called once per connection that PostgreSQL (or the network) drops; the statement that used it fails by itself. */
export type ConnectionLost = (err: Error) => void;

export function createDb(databaseUrl: string, poolSize = 10, onConnectionLost: ConnectionLost = () => {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // pg-pool listens for an idle client's `error` only; a client checked out (inside a transaction) that loses its
  // connection emits `error` with nobody listening, which would end the process. Every client gets a listener as it
  // connects; the query in flight rejects on its own and its caller decides.
  pool.on("error", (err) => onConnectionLost(err));
  pool.on("connect", (client) => client.on("error", (err) => onConnectionLost(err)));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const db = Object.assign(prisma, { pool }) as Db;
  const disconnect = prisma.$disconnect.bind(prisma);
  db.$disconnect = async () => {
    await disconnect();
    await pool.end().catch(() => {});
  };
  return db;
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
