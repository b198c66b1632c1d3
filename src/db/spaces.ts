/**
 * Statements about users' search spaces (POST /v1/search-spaces): immutable rows, one per version, per project.
 * Every statement serves a request and is scoped by its project: another project's spaces are not found.
 */
import type { SpaceDefinition } from "../spaces/definition.js";
import type { Db } from "./client.js";
import type { Scope } from "./projects.js";

export interface UserSpaceRow {
  name: string;
  version: string;
  family: string;
  definition: SpaceDefinition;
  createdAt: Date;
}

const COLUMNS = `name, version, family, definition, created_at AS "createdAt"`;

/**
 * Stores a version of a space (its version is the hash of its content). Posting the same content again stores
 * nothing: `created` is false and the row is the one stored first.
 */
export async function saveUserSpace(db: Db, scope: Scope, space: Omit<UserSpaceRow, "createdAt">): Promise<{ created: boolean; row: UserSpaceRow }> {
  const inserted = await db.pool.query<UserSpaceRow>(
    `INSERT INTO search_spaces (project_id, name, version, family, definition) VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (project_id, name, version) DO NOTHING RETURNING ${COLUMNS}`,
    [scope.projectId, space.name, space.version, space.family, JSON.stringify(space.definition)],
  );
  if (inserted.rows[0]) return { created: true, row: inserted.rows[0] };
  return { created: false, row: (await userSpace(db, scope, space.name, space.version))! };
}

/** A version of a space of the scope's project; without `version`, its newest. */
export async function userSpace(db: Db, scope: Scope, name: string, version?: string): Promise<UserSpaceRow | null> {
  const { rows } = await db.pool.query<UserSpaceRow>(
    `SELECT ${COLUMNS} FROM search_spaces WHERE project_id = $1 AND name = $2 AND ($3::text IS NULL OR version = $3)
     ORDER BY created_at DESC, version DESC LIMIT 1`,
    [scope.projectId, name, version ?? null],
  );
  return rows[0] ?? null;
}

/** Every version of a space of the scope's project, newest first (empty when it has none). */
export async function userSpaceVersions(db: Db, scope: Scope, name: string): Promise<UserSpaceRow[]> {
  const { rows } = await db.pool.query<UserSpaceRow>(
    `SELECT ${COLUMNS} FROM search_spaces WHERE project_id = $1 AND name = $2 ORDER BY created_at DESC, version DESC`,
    [scope.projectId, name],
  );
  return rows;
}

/** The newest version of each space of the scope's project, by name, with how many versions it has. */
export async function listUserSpaces(db: Db, scope: Scope): Promise<Array<UserSpaceRow & { versions: number }>> {
  const { rows } = await db.pool.query<UserSpaceRow & { versions: number }>(
    `SELECT DISTINCT ON (name) ${COLUMNS}, count(*) OVER (PARTITION BY name)::int AS versions
     FROM search_spaces WHERE project_id = $1 ORDER BY name, created_at DESC, version DESC`,
    [scope.projectId],
  );
  return rows;
}
