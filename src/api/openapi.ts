/**
 * What the OpenAPI document (GET /docs/json, docs/openapi.json) needs beyond what each route declares, so that a
 * client generator can use it and `npm run lint:openapi` (redocly's recommended rules, redocly.yaml) passes:
 * - every operation has an `operationId`, derived from its method and path when the route names none
 *   (GET /v1/searches/{id}/trials → `getSearchesByIdTrials`): stable names for generated clients;
 * - every /v1 operation documents the 401 the auth hook answers (src/api/auth.ts) and the 429 of the rate limit;
 *   the probes (/healthz, /readyz), which need no key, say so (`security: []`);
 * - a schema that says only `nullable` (zod's `unknown().nullable()`: any JSON value) drops it: it already allows
 *   null, and OpenAPI 3.0 wants a `type` beside `nullable`;
 * - `servers` names the API's own origin (relative), where the dashboard and the CLI find it.
 */
import type { SwaggerTransformObject } from "@fastify/swagger";

type Json = Record<string, unknown>;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** The error body of src/api/errors.ts, as a response of the document. */
const errorResponse = (description: string) => ({
  description,
  content: {
    "application/json": {
      schema: {
        type: "object",
        description: "Error",
        properties: {
          error: { type: "string" },
          message: { type: "string" },
          issues: { type: "array", items: { type: "object", properties: { field: { type: "string" }, in: { type: "string" }, message: { type: "string" } }, required: ["field", "in", "message"] } },
        },
        required: ["error", "message"],
      },
    },
  },
});

/** `GET /v1/searches/{id}/trials` → `getSearchesByIdTrials`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((s) => s && s !== "v1")
    .map((s) => (s.startsWith("{") ? `by-${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** Drops `nullable` from schemas that have no `type` (they accept any value, null included). */
function fixNullable(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(fixNullable);
  if (!node || typeof node !== "object") return;
  const o = node as Json;
  if (o.nullable === true && !("type" in o) && !("$ref" in o) && !("allOf" in o) && !("oneOf" in o) && !("anyOf" in o)) delete o.nullable;
  for (const v of Object.values(o)) fixNullable(v);
}

/** fastify-swagger's `transformObject`: completes the generated document (see above). */
export const completeOpenapi: SwaggerTransformObject = (documentObject) => {
  const doc = ("openapiObject" in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as Json & { paths?: Record<string, Record<string, Json>> };
  doc.servers ??= [{ url: "/", description: "the API's own origin (e.g. http://127.0.0.1:3000, PORT and HOST)" }];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      op.operationId ??= operationIdOf(method, path);
      const responses = (op.responses ??= {}) as Json;
      if (path.startsWith("/v1/")) {
        responses["401"] ??= errorResponse("No API key, or one that is unknown or revoked (`Authorization: Bearer <key>`)");
        responses["429"] ??= errorResponse("Too many requests by this key (RATE_LIMIT_PER_MINUTE); retry after the Retry-After header's seconds");
      } else {
        op.security ??= [];
      }
    }
  }
  fixNullable(doc.paths);
  fixNullable(doc.components);
  return doc as ReturnType<SwaggerTransformObject>;
};
