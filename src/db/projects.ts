/**
 * Projects (tenants) and their API keys. A key is `nas_` + 32 random base64url characters (192 bits); only its
 * SHA-256 is stored, with its first characters (`prefix`) to tell keys apart in listings. A high-entropy key needs
 * no slow hash: nobody can guess one from its digest.
 *
 * `Scope` is what every statement serving a request is bound to: the project of the key that made the request.
 * The API's statements take it and filter by it, so a key of one project never reads or changes another's rows
 * (they are simply not found). Statements that the orchestrator and trainers run on the rows their jobs name
 * (db/search-lock.ts, the trial lifecycle in db/trials.ts, db/rungs.ts) act for the system, not for a project.
 */
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "./client.js";

/** The project of a request: every API-facing statement is scoped by it. */
export interface Scope {
  projectId: string;
}

export const ROLES = ["read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** The project of rows made before projects existed, and of every request when AUTH=off. */
export const DEFAULT_PROJECT_ID = "00000000-0000-4000-8000-000000000000";

/** Who makes a request: the key's project and role. */
export interface Principal extends Scope {
  projectName: string;
  role: Role;
  keyId: string | null;
}

export interface Project {
  id: string;
  name: string;
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function newKey(): string {
  return `nas_${randomBytes(24).toString("base64url")}`;
}

const KEY_PREFIX_LENGTH = 12;

/** The project named `name`, created if it does not exist. */
export async function ensureProject(db: Db, name: string): Promise<Project> {
  const { rows } = await db.pool.query<Project>(
    `INSERT INTO projects (id, name) VALUES (gen_random_uuid(), $1)
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
     RETURNING id, name`,
    [name],
  );
  return rows[0]!;
}

/** Stores a key for a project (given, or new) and returns it: the only time the key itself is seen. */
export async function createKey(db: Db, projectId: string, role: Role, opts: { key?: string; name?: string } = {}): Promise<{ id: string; key: string; prefix: string }> {
  const key = opts.key ?? newKey();
  const prefix = key.slice(0, KEY_PREFIX_LENGTH);
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO api_keys (id, project_id, role, hash, prefix, name) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)
     ON CONFLICT (hash) DO UPDATE SET project_id = EXCLUDED.project_id, role = EXCLUDED.role, revoked_at = NULL
     RETURNING id`,
    [projectId, role, hashKey(key), prefix, opts.name ?? null],
  );
  return { id: rows[0]!.id, key, prefix };
}

/** The principal of a key, or null for a key that is unknown or revoked. */
export async function principalOfKey(db: Db, key: string): Promise<Principal | null> {
  const { rows } = await db.pool.query<Principal>(
    `SELECT k.id AS "keyId", k.role, p.id AS "projectId", p.name AS "projectName"
     FROM api_keys k JOIN projects p ON p.id = k.project_id
     WHERE k.hash = $1 AND k.revoked_at IS NULL`,
    [hashKey(key)],
  );
  return rows[0] ?? null;
}

export async function listKeys(db: Db, projectName?: string) {
  const { rows } = await db.pool.query<{ id: string; project: string; role: Role; prefix: string; name: string | null; createdAt: Date; revokedAt: Date | null }>(
    `SELECT k.id, p.name AS project, k.role, k.prefix, k.name, k.created_at AS "createdAt", k.revoked_at AS "revokedAt"
     FROM api_keys k JOIN projects p ON p.id = k.project_id
     WHERE $1::text IS NULL OR p.name = $1
     ORDER BY p.name, k.created_at`,
    [projectName ?? null],
  );
  return rows;
}

/** Revokes the keys whose id or prefix is given; returns how many were revoked. */
export async function revokeKey(db: Db, idOrPrefix: string): Promise<number> {
  const { rowCount } = await db.pool.query(
    `UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND (id::text = $1 OR prefix = $1)`,
    [idOrPrefix],
  );
  return rowCount ?? 0;
}
