/**
 * The Prisma client, on the pg driver adapter (no Rust engine: nothing to download).
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export type Db = PrismaClient;

export function createDb(databaseUrl: string, poolSize = 10): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}

/** Fails with a one-line reason when PostgreSQL cannot be reached or the schema is not migrated. */
export async function checkDb(db: Db): Promise<void> {
  try {
    await db.$queryRaw`SELECT 1 FROM "searches" LIMIT 1`;
  } catch (err) {
    const msg = (err as Error).message.split("\n").find((l) => l.trim()) ?? String(err);
    if (/does not exist/.test(msg) && /searches/.test(msg)) throw new Error("PostgreSQL schema missing: run `npm run db:migrate`");
    throw new Error(`PostgreSQL unreachable: ${msg.trim()}`);
  }
}
