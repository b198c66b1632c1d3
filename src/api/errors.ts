/**
 * One error shape for every client mistake, and no internals in 5xx answers:
 *   {"error": "validation_error", "message": "budget.maxTrials: Too small: expected number to be >=1",
 *    "issues": [{"field": "budget.maxTrials", "in": "body", "message": "Too small: …"}]}
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { z } from "zod";

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

export function badRequest(field: string, message: string): ApiError {
  return new ApiError(400, "validation_error", `${field}: ${message}`, [{ field, in: "body", message }]);
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError(404, "not_found", `${what} '${id}' not found`);
}

const CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, "invalid_json"],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, "invalid_json"],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, "payload_too_large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, "unsupported_media_type"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, "invalid_content_length"],
};

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = (err.validationContext ?? "body") as Issue["in"];
      const issues = err.validation.map((v) => {
        const field = v.instancePath.replace(/^\//, "").replaceAll("/", ".") || (where === "body" ? "(body)" : `(${where})`);
        return { field, in: where, message: v.message ?? "invalid" };
      });
      return reply.status(400).send({ error: "validation_error", message: issues.map((i) => `${i.field}: ${i.message}`).join("; "), issues });
    }
    const known = err.code ? CODES[err.code] : undefined;
    if (known) return reply.status(known[0]).send({ error: known[1], message: err.message });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: "bad_request", message: err.message });
    }
    request.log.error({ err }, "unhandled error");
    return reply.status(500).send({ error: "internal_error", message: "internal server error; the request id is in the server log", requestId: request.id });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}` }));
}
