/**
 * Authentication and authorization: every route under /v1 needs `Authorization: Bearer <key>`; the key's project
 * scopes every statement the request runs (db/projects.ts), and its role bounds what it may do:
 *   read   GET routes            write   also submit and cancel searches            admin   everything
 * A route states the role it needs in its options (`config: { role: "write" }`; GET routes need `read`).
 * `/healthz`, `/readyz`, `/docs` and `/metrics` (which has its own METRICS_TOKEN) stay open. Another project's resources are answered 404, as if they did not
 * exist (never 403: that would confirm they do).
 *
 * `AUTH=off` (local experiments only, logged loudly at start) makes every request an admin of the project
 * "default". Verified keys are remembered for AUTH_CACHE_S seconds, so a revoked key stops working within that.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { DEFAULT_PROJECT_ID, principalOfKey, ROLES, type Principal, type Role } from "../db/projects.js";
import type { Services } from "./services.js";
import { ApiError } from "./errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who makes the request (set for every route that needs a key). */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The role a route needs (default: read). */
    role?: Role;
  }
}

/** Routes anyone may call; the dashboard's page and files (`/`, `/assets/`) hold no data: the page asks for a key. */
const OPEN = [/^\/healthz$/, /^\/readyz$/, /^\/docs(\/|$)/, /^\/metrics$/, /^\/$/, /^\/assets\//];

const rank = (role: Role) => ROLES.indexOf(role);

export function registerAuth(app: FastifyInstance, services: Services): void {
  const { db, config } = services;
  const cache = new Map<string, { principal: Principal | null; until: number }>();
  const everyone: Principal = { projectId: DEFAULT_PROJECT_ID, projectName: "default", role: "admin", keyId: null };
  if (config.AUTH === "off") app.log.warn("AUTH=off: every request is an admin of the project 'default'. For local experiments only: never expose this API.");

  const principalOf = async (key: string): Promise<Principal | null> => {
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const principal = await principalOfKey(db, key);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { principal, until: Date.now() + config.AUTH_CACHE_S * 1000 });
    return principal;
  };

  app.decorateRequest("principal", null as unknown as Principal);
  app.addHook("onRequest", async (request: FastifyRequest) => {
    const path = request.url.split("?")[0]!;
    if (OPEN.some((p) => p.test(path))) return;
    if (config.AUTH === "off") {
      request.principal = everyone;
    } else {
      const header = request.headers.authorization;
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) throw new ApiError(401, "unauthorized", "this route needs an API key: send `Authorization: Bearer <key>` (keys are made with `npm run keys -- create`)");
      const principal = await principalOf(match[1]!);
      if (!principal) throw new ApiError(401, "unauthorized", "the API key is unknown or revoked");
      request.principal = principal;
    }
    const needed = request.routeOptions.config?.role ?? (request.method === "GET" || request.method === "HEAD" ? "read" : "write");
    if (rank(request.principal.role) < rank(needed)) {
      throw new ApiError(403, "forbidden", `this route needs a key with the ${needed} role; this key has the ${request.principal.role} role`);
    }
  });
}
