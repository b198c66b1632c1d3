/**
 * /v1/search-spaces: the built-in spaces (search-spaces/*.json, `builtin: true`) and the project's own. A user's space
 * is posted in the space language, as JSON or YAML (`content-type: application/yaml` or `text/yaml`), checked
 * against the catalogue (src/catalogue/user-spaces.ts: every problem named by its path, e.g. `decisions[3].values`),
 * and stored immutable, versioned by the hash of its content. A search names a space by name (its newest version)
 * or `name@version`; the definition it resolves to is snapshotted with the search (`resolveSearchSpace`).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import type { SearchSpace, SpaceDefinition, SpaceRegistry } from "../../catalogue/index.js";
import { checkUserSpace, evaluatorsForFamily, spaceOf } from "../../catalogue/user-spaces.js";
import type { Db } from "../../db/client.js";
import type { Scope } from "../../db/projects.js";
import { listUserSpaces, saveUserSpace, userSpace, userSpaceVersions, type UserSpaceRow } from "../../db/spaces.js";
import { ApiError, errorBodySchema, notFound } from "../errors.js";
import { identifier } from "../schemas.js";

const version = z.union([z.number().int(), z.string()]).describe("a built-in space's number, or a user's space's content hash");
const summary = z
  .object({
    id: z.string().describe("the space's name"),
    version,
    family: z.string(),
    description: z.string(),
    decisions: z.number().int(),
    size: z.number().describe("number of architectures before constraints"),
    builtin: z.boolean().describe("true for the spaces the service ships; false for the project's own"),
    evaluators: z.array(z.string()).describe("the evaluators that can score architectures of this space"),
    versions: z.number().int().describe("versions of this space (1 for built-ins)"),
    createdAt: z.string().nullable().describe("when the newest version was posted (null for built-ins)"),
  })
  .describe("SearchSpaceSummary");
const definitionBody = z.record(z.string(), z.unknown()).describe("the space's definition in the space language, with its size");
// Lenient on purpose: the catalogue checks the space and names each problem by its path (decisions[3].values), which
// a schema's union errors could not; the fields are declared for the OpenAPI document.
const spaceBody = z
  .looseObject({
    name: z.unknown().describe("the space's name: lower-case letters, digits and dashes (or `id`)"),
    id: z.unknown().optional().describe("the space's name, as the built-in files spell it (give `name` or `id`)"),
    family: z.unknown().describe("transformer, flow or nasbench201"),
    description: z.unknown().optional(),
    decisions: z.unknown().describe("categorical, integer and repeat decisions; `train.<option>` for training settings"),
    constraints: z.unknown().optional().describe("expressions every architecture satisfies"),
  })
  .describe("SearchSpaceDefinition");
const userSpaceSchema = z
  .object({ id: z.string(), version: z.string(), family: z.string(), builtin: z.literal(false), evaluators: z.array(z.string()), size: z.number(), createdAt: z.string(), definition: definitionBody })
  .describe("UserSearchSpace");
const versionParams = z.object({ id: identifier(), version: identifier() });

/** A search's reference to a space: `name` (newest version) or `name@version`. */
export function parseSpaceRef(ref: string): { name: string; version?: string } {
  const at = ref.lastIndexOf("@");
  return at > 0 ? { name: ref.slice(0, at), version: ref.slice(at + 1) } : { name: ref };
}

/**
 * The space a search names, as it will be snapshotted with the search: a built-in space, or a version of one of the
 * project's own (the newest without `@version`). `problem` says why nothing was found.
 */
export async function resolveSearchSpace(
  db: Db,
  scope: Scope,
  spaces: SpaceRegistry,
  ref: string,
): Promise<{ space: SearchSpace; version: string; definition: SpaceDefinition } | { problem: string }> {
  const { name, version: wanted } = parseSpaceRef(ref);
  const builtin = spaces.get(name);
  if (builtin) {
    if (wanted !== undefined && wanted !== String(builtin.version)) return { problem: `the built-in space '${name}' has version ${builtin.version} only, not '${wanted}'` };
    return { space: builtin, version: String(builtin.version), definition: builtin.definition };
  }
  const row = await userSpace(db, scope, name, wanted);
  if (!row) {
    if (wanted !== undefined && (await userSpace(db, scope, name))) return { problem: `the space '${name}' has no version '${wanted}' (GET /v1/search-spaces/${name} lists them)` };
    return { problem: `unknown search space '${name}'; available: ${spaces.ids().join(", ")} and the project's own (GET /v1/search-spaces)` };
  }
  return { space: spaceOf(row.definition), version: row.version, definition: row.definition };
}

/** A space's size as JSON can carry it (a huge repeat's count of architectures overflows a double). */
const sizeOf = (space: SearchSpace) => {
  const n = space.size();
  return Number.isFinite(n) ? n : Number.MAX_VALUE;
};

function userView(row: UserSpaceRow) {
  const space = spaceOf(row.definition);
  return {
    id: row.name,
    version: row.version,
    family: row.family,
    builtin: false as const,
    evaluators: evaluatorsForFamily(row.family),
    size: sizeOf(space),
    createdAt: row.createdAt.toISOString(),
    definition: { ...row.definition, size: sizeOf(space) },
  };
}

export const searchSpaceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, spaces } = app.services;
  const tags = ["search-spaces"];

  // YAML bodies for this plugin's routes only (fastify encapsulates content-type parsers per plugin).
  app.addContentTypeParser(["application/yaml", "text/yaml", "application/x-yaml"], { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string, { maxAliasCount: 100 }));
    } catch (err) {
      if (err instanceof YAMLParseError) {
        const at = err.linePos?.[0];
        done(new ApiError(400, "invalid_yaml", `the body is not YAML${at ? ` (line ${at.line}, column ${at.col})` : ""}: ${err.message.split("\n")[0]}`), undefined);
      } else done(new ApiError(400, "invalid_yaml", `the body is not YAML: ${(err as Error).message}`), undefined);
    }
  });

  app.get(
    "/v1/search-spaces",
    { schema: { tags, summary: "List search spaces: the built-in ones and the project's own (newest version of each)", response: { 200: z.object({ items: z.array(summary) }) } } },
    async (request) => {
      const own = await listUserSpaces(db, request.principal);
      return {
        items: [
          ...spaces.all().map((s) => ({
            id: s.id,
            version: s.version,
            family: s.family,
            description: s.definition.description,
            decisions: s.definition.decisions.length,
            size: s.size(),
            builtin: true,
            evaluators: evaluatorsForFamily(s.family),
            versions: 1,
            createdAt: null,
          })),
          ...own.map((row) => ({
            id: row.name,
            version: row.version,
            family: row.family,
            description: row.definition.description,
            decisions: row.definition.decisions.length,
            size: sizeOf(spaceOf(row.definition)),
            builtin: false,
            evaluators: evaluatorsForFamily(row.family),
            versions: row.versions,
            createdAt: row.createdAt.toISOString(),
          })),
        ],
      };
    },
  );

  app.post(
    "/v1/search-spaces",
    {
      schema: {
        tags,
        summary: "Post a search space of the project (JSON, or YAML with content-type application/yaml): 201 with its version, 200 if that content exists already",
        description:
          "The space language of search-spaces/*.json with `name` in place of `id` and no `version` (the service versions a space by the hash of its content). Decisions named `train.<option>` (learningRate, batchSize, warmupSteps, weightDecay, steps, …) search the train evaluator's options with the architecture.",
        body: spaceBody,
        response: { 200: userSpaceSchema, 201: userSpaceSchema, 400: errorBodySchema, 415: errorBodySchema },
      },
    },
    async (request, reply) => {
      const checked = checkUserSpace(request.body, new Set(spaces.ids()));
      if (!checked.ok) {
        const issues = checked.issues.slice(0, 20).map((i) => ({ field: i.path, in: "body" as const, message: i.message }));
        throw new ApiError(400, "validation_error", issues.map((i) => `${i.field}: ${i.message}`).join("; "), issues);
      }
      const { created, row } = await saveUserSpace(db, request.principal, { name: checked.definition.id, version: checked.version, family: checked.definition.family, definition: checked.definition });
      reply.status(created ? 201 : 200).header("location", `/v1/search-spaces/${row.name}/${row.version}`);
      return userView(row);
    },
  );

  app.get(
    "/v1/search-spaces/:id",
    {
      schema: {
        tags,
        summary: "A search space: a built-in one's full definition, or every version of one of the project's own (newest first)",
        params: z.object({ id: identifier() }),
        response: { 200: z.record(z.string(), z.unknown()), 404: errorBodySchema },
      },
    },
    async (request) => {
      const space = spaces.get(request.params.id);
      if (space) return { ...space.definition, size: space.size(), builtin: true, evaluators: evaluatorsForFamily(space.family) };
      const versions = await userSpaceVersions(db, request.principal, request.params.id);
      if (versions.length === 0) throw notFound("search space", request.params.id);
      const newest = userView(versions[0]!);
      return { id: newest.id, builtin: false, family: newest.family, evaluators: newest.evaluators, version: newest.version, versions: versions.map(userView) };
    },
  );

  app.get(
    "/v1/search-spaces/:id/:version",
    { schema: { tags, summary: "One version of a search space", params: versionParams, response: { 200: z.record(z.string(), z.unknown()), 404: errorBodySchema } } },
    async (request) => {
      const { id, version: wanted } = request.params;
      const space = spaces.get(id);
      if (space) {
        if (String(space.version) !== wanted) throw notFound("search space", `${id}@${wanted}`);
        return { ...space.definition, size: space.size(), builtin: true, evaluators: evaluatorsForFamily(space.family) };
      }
      const row = await userSpace(db, request.principal, id, wanted);
      if (!row) throw notFound("search space", `${id}@${wanted}`);
      return userView(row);
    },
  );
};
