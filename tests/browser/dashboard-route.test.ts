/**
 * How the API serves the dashboard (src/api/routes/dashboard.ts), in process: `/` and its hashed files without a
 * key, with their content types, cache headers and a Content-Security-Policy the page runs under (no inline
 * script anywhere in it); nothing outside web/dist/assets is reachable; /v1 still needs a key; and without a build,
 * `/` is a 503 saying how to make one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardRoutes } from "../../src/api/routes/dashboard.js";
import { openServices } from "../setup/services.js";
import { ensureDashboardBuilt } from "./build.js";

describe("the dashboard route", () => {
  let services: Awaited<ReturnType<typeof openServices>>;
  let app: Awaited<ReturnType<typeof services.app>>;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    services = await openServices();
    app = await services.app();
  }, 120_000);
  afterAll(() => services?.close());

  it("serves the page and its files without a key, under a policy that allows no inline script", async () => {
    const res = await app.inject("/");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-cache");
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/img-src 'self' data:(;|$)/);
    expect(csp).toContain("default-src 'self'");
    // Every script of the page is a file of this origin: nothing inline for the policy to refuse.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...res.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    expect(assets.some((a) => a.endsWith(".css"))).toBe(true);
    for (const url of assets) {
      const file = await app.inject(url);
      expect(file.statusCode, url).toBe(200);
      expect(file.headers["content-type"]).toBe(url.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
      expect(file.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(file.body.length).toBeGreaterThan(100);
    }
  });

  it("reaches nothing but the built files, and leaves /v1 closed", async () => {
    for (const url of ["/assets/..%2F..%2Fpackage.json", "/assets/..%2Findex.html", "/assets/missing-abc123.js", "/assets/index.html", "/assets/.env"]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
    }
    expect((await app.inject("/v1/searches")).statusCode).toBe(401);
    expect((await app.inject("/index.html")).statusCode).toBe(401);
  });

  it("answers 503 naming `npm run build:web` when web/dist is missing", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "no-dashboard-"));
    const bare = Fastify();
    await bare.register(dashboardRoutes, { dir: empty });
    try {
      const res = await bare.inject("/");
      expect(res.statusCode).toBe(503);
      expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(res.body).toContain("npm run build:web");
      expect((await bare.inject("/assets/index-abc.js")).statusCode).toBe(404);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
