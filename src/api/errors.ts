/**
 * One error shape for every client mistake, and no internals in 5xx answers:
 *   {"error": "validation_error", "message": "budget.maxTrials: Too small: expected number to be >=1",
 *    "issues": [{"field": "budget.maxTrials", "in": "body", "message": "Too small: …"}]}
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";
import { infraService, type InfraService } from "../core/errors.js";
import { printable, unstorable } from "./schemas.js";

export const errorBodySchema = z
  .object({
    error: z.string().describe("machine-readable code: validation_error, not_found, conflict, payload_too_large, …"),
    message: z.string(),
    issues: z.array(z.object({ field: z.string(), in: z.string(), message: z.string() })).optional(),
  })
  .describe("Error");

export interface Issue {
  field: string;
  in: "body" | "querystring" | "params" | "headers";
  message: string;
}

/** A client error with a status and, for validation problems, the fields at fault. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly issues?: Issue[]) {
    super(message);
  }
}

export function badRequest(field: string, message: string, where: "body" | "querystring" | "params" = "body"): ApiError {
  return new ApiError(400, "validation_error", `${field}: ${message}`, [{ field, in: where, message }]);
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError(404, "not_found", `${what} '${id}' not found`);
}

/** Seconds a client is told to wait (Retry-After) while PostgreSQL or Redis is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** A 503 while a backing service is unreachable (sent with Retry-After: UNAVAILABLE_RETRY_AFTER_S). */
export function unavailable(service: InfraService): ApiError {
  return new ApiError(503, "service_unavailable", `${service} is unreachable; retry in ${UNAVAILABLE_RETRY_AFTER_S} s`);
}

const CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "invalid_json"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "invalid_json"],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "payload_too_large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "unsupported_media_type"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "invalid_content_length"],
};

/** Issues answered at most (a body of 100,000 wrong array items would otherwise get an answer larger than itself). */
const MAX_ISSUES = 20;

/** A field path as the API names it: `strategy.seedArchitectures.0`, each segment cut to 60 characters. */
function fieldOf(path: ReadonlyArray<string | number>, where: Issue["in"]): string {
  const cut = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}…` : s);
  return path.map((p) => cut(String(p))).join(".") || (where === "body" ? "(body)" : `(${where})`);
}

interface UnionIssue {
  code: string;
  path: Array<string | number>;
  message: string;
  keys?: string[];
}

/** Of a union's branches (zod's issues per branch), the only one that did not fail on the value's type itself. */
function shapedBranch(errors: unknown): UnionIssue[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const shaped = (errors as UnionIssue[][]).filter((issues) => Array.isArray(issues) && issues.length > 0 && !issues.every((i) => i.code === "invalid_type" && i.path.length === 0));
  return shaped.length === 1 ? shaped[0] : undefined;
}

function validationError(issues: Issue[]): ApiError {
  const shown = issues.slice(0, MAX_ISSUES);
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : "";
  return new ApiError(400, "validation_error", shown.map((i) => `${i.field}: ${i.message}`).join("; ") + more, shown);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err.validationContext ?? "body") as Issue["in"];
      const issues = err.validation.flatMap((v): Issue[] => {
        const path = v.instancePath.replace(/^\//, "").split("/").filter((p) => p !== "");
        // An unknown key is named itself (`strategy.populationSze`), not only the object that holds it.
        const keys = v.keyword === "unrecognized_keys" ? (v.params as { keys?: unknown }).keys : undefined;
        if (Array.isArray(keys) && keys.length) return keys.map((k) => ({ field: fieldOf([...path, String(k)], where), in: where, message: `unknown field ${printable(String(k))}` }));
        // A union (an objective or a list of them) is answered by the one branch the value has the shape of:
        // `objective.1.direction`, not "objective: Invalid input".
        const branch = v.keyword === "invalid_union" ? shapedBranch((v.params as { errors?: unknown }).errors) : undefined;
        if (branch) return branch.map((i) => ({ field: fieldOf([...path, ...i.path], where), in: where, message: i.code === "unrecognized_keys" ? `unknown field ${printable(String(i.keys?.[0]))}` : i.message }));
        return [{ field: fieldOf(path, where), in: where, message: v.message ?? "invalid" }];
      });
      const e = validationError(issues);
      return reply.status(400).send({ error: e.code, message: e.message, issues: e.issues });
    }
    const known = err.code ? CODES[err.code] : undefined;
    if (known) return reply.status(known[0]).send({ error: known[1], message: err.message });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: "bad_request", message: err.message });
    }
    // A statement that failed because PostgreSQL (or Redis) is unreachable: the client may retry, it is not a bug.
    const service = infraService(err, "PostgreSQL");
    if (service) {
      request.log.warn({ err: err.message }, `${service} unreachable: 503`);
      const e = unavailable(service);
      return reply.status(503).header("retry-after", UNAVAILABLE_RETRY_AFTER_S).send({ error: e.code, message: e.message });
    }
    request.log.error({ err }, "unhandled error");
    return reply.status(500).send({ error: "internal_error", message: "internal server error; the request id is in the server log", requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}` }));
}

const FRAMEWORK_CODES: Record<string, string> = { FST_ERR_BAD_URL: "bad_url", FST_ERR_MAX_PARAM_LENGTH: "uri_too_long" };

/** Fastify's errors before routing (a path that is not valid percent-encoding, 400; a path segment too long, 414), in the API's error shape. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply.status(status).send({ error: FRAMEWORK_CODES[err.code] ?? "bad_request", message: err.message });
}

/** The `charset` parameters of a content type, lower-cased and unquoted. */
function charsets(contentType: string): string[] {
  return [...contentType.matchAll(/;\s*charset\s*=\s*("?)([^";\s]*)\1/gi)].map((m) => m[2]!.toLowerCase());
}

/**
 * Input the schemas cannot see or that nothing downstream can take, refused before it gets there:
 * - a body declared in a charset other than UTF-8 (JSON is UTF-8; it would be decoded as UTF-8 anyway): 415;
 * - once the schemas have passed a request (their issues come first: an unknown key, a wrong type), a string or key
 *   with NUL or a lone UTF-16 surrogate, or nesting deeper than MAX_JSON_DEPTH, anywhere in its body, query or path —
 *   free-form JSON such as a seed architecture included (PostgreSQL refuses NUL in text and jsonb, and lone
 *   surrogates in jsonb; Prisma serializes JSON recursively and overflowed the stack): 400 naming the field.
 */
export function registerInputGuards(app: FastifyInstance): void {
  app.addHook("preParsing", async (request) => {
    const type = request.headers["content-type"];
    const bad = typeof type === "string" ? charsets(type).find((c) => c !== "utf-8" && c !== "utf8") : undefined;
    if (bad !== undefined) throw new ApiError(415, "unsupported_media_type", `request bodies are JSON in UTF-8, not charset ${printable(bad)}`);
  });
  app.addHook("preHandler", async (request) => {
    if (request.is404) return; // the not-found handler stores nothing (its `*` parameter is the unmatched path)
    const parts: Array<[Issue["in"], unknown]> = [["params", request.params], ["querystring", request.query], ["body", request.body]];
    for (const [where, value] of parts) {
      const found = unstorable(value);
      if (found) throw validationError([{ field: fieldOf(found.path, where), in: where, message: found.message }]);
    }
  });
}
