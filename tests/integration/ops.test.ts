/**
 * What the API promises an operator (README, "Security and operations"): security headers, CORS only for the
 * configured origins, a rate limit per key shared by every API process on one Redis, Prometheus metrics, and 503 with
 * Retry-After (never 500) while PostgreSQL is unreachable. In-process (app.inject) against the real PostgreSQL and
 * Redis of this run, on a database of its own. The outage is a TCP proxy in front of PostgreSQL that the test cuts:
 * the shared PostgreSQL that other test files use is never touched.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import type { Config } from "../../src/config.js";
import { startApi } from "../../src/processes.js";
import { freshDatabase, waitFor } from "../setup/env.js";
import { NB201_SEARCH, openServices, withKey } from "../setup/services.js";

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
const LIMIT = 5;

beforeAll(async () => {
  database = await freshDatabase("ops");
  services = await openServices({ DATABASE_URL: database.url, QUEUE_PREFIX: `${inject("queuePrefix")}_ops`, RATE_LIMIT_PER_MINUTE: String(LIMIT) });
});
afterAll(async () => {
  await services?.close();
  await database?.drop();
});

/** Another API (as another process builds it) on the same PostgreSQL and Redis, with some settings changed. */
function anotherApi(overrides: Partial<Config> = {}) {
  return startApi({ ...services.config, ...overrides }, { listen: false, logger: false });
}

describe("security headers", () => {
  it("every answer carries them, errors included", async () => {
    const app = await services.app();
    for (const url of ["/healthz", "/v1/searches"]) {
      const res = await app.inject({ url });
      expect(res.headers["x-content-type-options"], url).toBe("nosniff");
      expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.headers["cross-origin-opener-policy"]).toBe("same-origin");
      expect(res.headers["cross-origin-resource-policy"]).toBe("same-origin");
      expect(res.headers["strict-transport-security"]).toBe("max-age=15552000");
      expect(res.headers["x-powered-by"]).toBeUndefined();
      const csp = String(res.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("frame-ancestors 'self'");
      expect(csp).not.toContain("upgrade-insecure-requests");
    }
    expect((await app.inject({ url: "/v1/searches" })).statusCode).toBe(401);
  });

  it("the /docs page works under its policy: scripts are files of its own origin, no inline script", async () => {
    const app = await services.app();
    const page = await app.inject({ url: "/docs/" });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("style-src 'self' https: 'unsafe-inline'"); // Swagger UI sets style attributes
    expect(csp).toContain("img-src 'self' data:"); // its logo is a data: URL
    const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      const src = /src="([^"]+)"/.exec(attrs!)?.[1];
      expect(src, "an inline script would be blocked by script-src 'self'").toBeDefined();
      expect(src).not.toMatch(/^[a-z]+:\/\//); // same origin
      expect(body!.trim()).toBe("");
      const asset = await app.inject({ url: new URL(src!, "http://x/docs/").pathname });
      expect(asset.statusCode, src).toBe(200);
    }
    for (const href of [...page.body.matchAll(/<link[^>]*href="([^"]+)"/g)].map((m) => m[1]!)) expect(href).not.toMatch(/^[a-z]+:\/\//);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) => ({
    method: "OPTIONS" as const,
    url: "/v1/searches",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });

  it("is off by default: no Access-Control-* header for any origin", async () => {
    const app = await services.app();
    const { key } = await services.key("ops-cors");
    const res = await withKey(app, key).inject({ url: "/v1/searches", headers: { origin: "https://ui.example" } });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    const pre = await app.inject(preflight("https://ui.example"));
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("CORS_ORIGINS lets those origins in (preflight answered without a key) and no other", async () => {
    const api = await anotherApi({ CORS_ORIGINS: ["https://ui.example", "http://localhost:5173"] });
    try {
      const pre = await api.app.inject(preflight("https://ui.example"));
      expect(pre.statusCode).toBe(204);
      expect(pre.headers["access-control-allow-origin"]).toBe("https://ui.example");
      expect(String(pre.headers["access-control-allow-methods"])).toContain("POST");
      expect(String(pre.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");
      expect(pre.headers["access-control-allow-credentials"]).toBeUndefined();

      const { key } = await services.key("ops-cors");
      const get = await withKey(api.app, key).inject({ url: "/v1/searches", headers: { origin: "http://localhost:5173" } });
      expect(get.statusCode).toBe(200);
      expect(get.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
      expect(String(get.headers["access-control-expose-headers"])).toContain("retry-after");

      const other = await withKey(api.app, key).inject({ url: "/v1/searches", headers: { origin: "https://evil.example" } });
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
      expect((await api.app.inject(preflight("https://evil.example"))).headers["access-control-allow-origin"]).toBeUndefined();
    } finally {
      await api.close();
    }
  });
});

describe("rate limit", () => {
  it(`the ${LIMIT + 1}th request of a key in a minute is 429 with Retry-After; another key is unaffected; probes are exempt`, async () => {
    const app = await services.app();
    const a = withKey(app, (await services.key("ops-rate")).key);
    const b = withKey(app, (await services.key("ops-rate")).key);
    for (let i = 0; i < LIMIT; i++) {
      const res = await a.inject("/v1/searches");
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers["x-ratelimit-remaining"]).toBe(String(LIMIT - i - 1));
    }
    const over = await a.inject("/v1/searches");
    expect(over.statusCode).toBe(429);
    const retryAfter = Number(over.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(over.json()).toEqual({ error: "rate_limited", message: expect.stringContaining(`RATE_LIMIT_PER_MINUTE = ${LIMIT}`) });
    expect((await a.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH })).statusCode).toBe(429);

    expect((await b.inject("/v1/searches")).statusCode).toBe(200);
    for (let i = 0; i < LIMIT + 2; i++) {
      for (const url of ["/healthz", "/readyz", "/metrics"]) expect((await a.inject(url)).statusCode, url).toBe(200);
    }
  });

  it("is shared by two API processes on the same Redis", async () => {
    const first = await services.app();
    const second = await anotherApi();
    try {
      const { key } = await services.key("ops-rate");
      const one = withKey(first, key);
      const two = withKey(second.app, key);
      for (let i = 0; i < LIMIT; i++) expect((await (i % 2 ? two : one).inject("/v1/searches")).statusCode).toBe(200);
      expect((await one.inject("/v1/searches")).statusCode).toBe(429);
      expect((await two.inject("/v1/searches")).statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });

  it("requests without a key (AUTH=off) count per client address", async () => {
    const api = await anotherApi({ AUTH: "off", QUEUE_PREFIX: `${inject("queuePrefix")}_ops_ip` });
    try {
      const codes = [];
      for (let i = 0; i <= LIMIT; i++) codes.push((await api.app.inject({ url: "/v1/searches", remoteAddress: "10.1.2.3" })).statusCode);
      expect(codes).toEqual([...Array(LIMIT).fill(200), 429]);
      expect((await api.app.inject({ url: "/v1/searches", remoteAddress: "10.1.2.4" })).statusCode).toBe(200);
      expect((await api.app.inject({ url: "/v1/searches", remoteAddress: "10.1.2.3" })).json().message).toContain("from this address");
    } finally {
      await api.close();
    }
  });
});

describe("GET /metrics", () => {
  it("exposes requests by route and status, latencies, queue depths, searches and trials, trainer heartbeats", async () => {
    const api = await anotherApi({ RATE_LIMIT_PER_MINUTE: 0 });
    try {
      const { key } = await services.key("ops-metrics-secret-project");
      const client = withKey(api.app, key);
      expect((await client.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH })).statusCode).toBe(201);
      expect((await client.inject("/v1/leaderboard?space=nasbench201&task=cifar10")).statusCode).toBe(200);
      expect((await client.inject("/v1/searches/00000000-0000-4000-8000-000000000000")).statusCode).toBe(404);
      await services.queues.trainerHeartbeat("ops-test-trainer", false);

      const res = await api.app.inject({ url: "/metrics" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = res.body;
      const value = (series: string) => {
        const line = text.split("\n").find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      expect(value('http_requests_total{method="POST",route="/v1/searches",status_code="201"}')).toBe(1);
      expect(value('http_requests_total{method="GET",route="/v1/leaderboard",status_code="200"}')).toBe(1);
      expect(value('http_requests_total{method="GET",route="/v1/searches/:id",status_code="404"}')).toBe(1);
      expect(value('http_request_duration_seconds_count{method="GET",route="/v1/leaderboard",status_code="200"}')).toBe(1);
      expect(text).toContain('http_request_duration_seconds_bucket{le="0.25",method="GET",route="/v1/leaderboard",status_code="200"}');
      for (const queue of ["trials", "trials-gpu", "advance"]) {
        for (const state of ["waiting", "active", "delayed", "prioritized", "failed"]) expect(value(`nas_queue_jobs{queue="${queue}",state="${state}"}`), `${queue} ${state}`).toBeGreaterThanOrEqual(0);
      }
      expect(value('nas_searches{status="queued"}')).toBeGreaterThanOrEqual(1);
      expect(value('nas_trials{status="running"}')).toBeGreaterThanOrEqual(0);
      expect(value("nas_trials_finished_total")).toBeGreaterThanOrEqual(0);
      expect(value('nas_trainers{kind="cpu"}')).toBe(1);
      expect(value('nas_trainers{kind="gpu"}')).toBe(0);
      expect(value('nas_backend_up{service="postgresql"}')).toBe(1);
      expect(value('nas_backend_up{service="redis"}')).toBe(1);
      expect(value("process_cpu_user_seconds_total")).toBeGreaterThan(0);
      // Aggregates only: no project, key or search appears.
      expect(text).not.toContain("ops-metrics-secret-project");
      expect(text).not.toContain(key);
      expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
      // A trainer that stops takes its heartbeat with it.
      await services.queues.trainerGone("ops-test-trainer", false);
      expect(await services.queues.liveTrainers()).toEqual({ cpu: 0, gpu: 0 });
    } finally {
      await api.close();
    }
  });

  it("with METRICS_TOKEN set, it needs that token", async () => {
    const token = "metrics-token-of-the-ops-test";
    const api = await anotherApi({ METRICS_TOKEN: token });
    try {
      expect((await api.app.inject({ url: "/metrics" })).statusCode).toBe(401);
      expect((await withKey(api.app, "not-the-token-but-long-enough").inject("/metrics")).statusCode).toBe(401);
      expect((await withKey(api.app, token).inject("/metrics")).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });
});

/** A TCP proxy to PostgreSQL that can be cut (listener closed, every connection dropped) and restored. */
async function pgProxy(target: URL) {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port = 0) => new Promise<number>((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  const port = await listen();
  return {
    port,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: () => listen(port),
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("PostgreSQL unreachable", () => {
  it("503 with Retry-After (never 500) from the error handler and from the health check; /readyz names it; back when it returns", async () => {
    const direct = new URL(database.url);
    const proxy = await pgProxy(direct);
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    // One API that notices only through its failing statements (its health check waits 10 minutes), one whose
    // health check runs every 200 ms.
    const slow = await anotherApi({ DATABASE_URL: proxied.toString(), DB_HEALTH_CHECK_MS: 600_000, RATE_LIMIT_PER_MINUTE: 0 });
    const fast = await anotherApi({ DATABASE_URL: proxied.toString(), DB_HEALTH_CHECK_MS: 200, RATE_LIMIT_PER_MINUTE: 0 });
    try {
      const { key } = await services.key("ops-outage");
      const [a, b] = [withKey(slow.app, key), withKey(fast.app, key)];
      expect((await a.inject("/v1/searches")).statusCode).toBe(200);
      expect((await b.inject("/v1/searches")).statusCode).toBe(200);

      await proxy.cut();
      const expectUnavailable = (res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown; body: string }) => {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.headers["retry-after"]).toBe("5");
        expect(res.json()).toEqual({ error: "service_unavailable", message: "PostgreSQL is unreachable; retry in 5 s" });
      };
      // Statements that fail (a list through Prisma, a submission in a transaction, a read through the pool).
      expectUnavailable(await a.inject("/v1/searches"));
      expectUnavailable(await a.inject({ method: "POST", url: "/v1/searches", payload: NB201_SEARCH }));
      expectUnavailable(await a.inject("/v1/leaderboard?space=nasbench201&task=cifar10&metric=test_accuracy"));
      // The health check's verdict: answered at once, without trying the database.
      await waitFor("the fast API's health check to notice", async () => (await b.inject("/v1/searches")).statusCode === 503, 5000, 50);
      expectUnavailable(await b.inject("/v1/searches/00000000-0000-4000-8000-000000000000"));
      expect((await b.inject("/healthz")).statusCode).toBe(200);
      const ready = await b.inject("/readyz");
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: "not ready", postgres: expect.stringMatching(/^unreachable: /), redis: "ok" });
      const metrics = await b.inject("/metrics");
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('nas_backend_up{service="postgresql"} 0');

      await proxy.restore();
      await waitFor("both APIs to answer again", async () => (await a.inject("/v1/searches")).statusCode === 200 && (await b.inject("/v1/searches")).statusCode === 200, 10_000, 100);
      expect((await b.inject("/readyz")).statusCode).toBe(200);
    } finally {
      await slow.close();
      await fast.close();
      await proxy.close();
    }
  });
});
