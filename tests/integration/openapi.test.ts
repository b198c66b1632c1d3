/**
 * docs/openapi.json and src/client/openapi.d.ts (the typed client's types) are what `npm run openapi` writes from
 * the app's routes: a route or schema changed without running it fails here, so the document, the CLI and the
 * dashboard cannot drift from the API.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPENAPI_JSON, OPENAPI_TYPES, openapiDocument, openapiTypes } from "../../scripts/openapi.js";
import { operationIdOf } from "../../src/api/openapi.js";

describe("the committed OpenAPI document", () => {
  it("is the one the app serves, and the client's types are generated from it (else run `npm run openapi`)", async () => {
    const document = await openapiDocument();
    const committed = readFileSync(OPENAPI_JSON, "utf8");
    // Compared as objects first: a failure then names the paths that differ rather than a 200 kB string.
    expect(JSON.parse(committed), "docs/openapi.json is stale: run `npm run openapi`").toEqual(JSON.parse(document));
    expect(committed).toBe(document);
    expect(readFileSync(OPENAPI_TYPES, "utf8"), "src/client/openapi.d.ts is stale: run `npm run openapi`").toBe(await openapiTypes(document));
  }, 60_000);

  it("names every operation, and documents the key it needs and the errors it answers", async () => {
    const doc = JSON.parse(await openapiDocument()) as { paths: Record<string, Record<string, { operationId?: string; summary?: string; responses: Record<string, unknown>; security?: unknown[] }>> };
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        ids.add(op.operationId!);
        if (path.startsWith("/v1/")) expect(Object.keys(op.responses), `${method} ${path}`).toContain("401");
        else expect(op.security, `${method} ${path}`).toEqual([]);
      }
    }
    expect(ids.size).toBe(Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0));
    expect(operationIdOf("get", "/v1/searches/{id}/trials")).toBe("getSearchesByIdTrials");
    expect(operationIdOf("get", "/v1/searches/{id}/trials.csv")).toBe("getSearchesByIdTrialsCsv");
  }, 60_000);
});
