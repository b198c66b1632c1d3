/**
 * The web dashboard at `/`: the files Vite builds from web/ into web/dist/ (`npm ci`'s postinstall, or
 * `npm run build:web`). index.html is revalidated on every load (`no-cache`), the content-hashed files under
 * /assets/ are cached for a year (`immutable`): a rebuild changes their names. The page is open (it holds no data;
 * it asks for a key and sends it with every /v1 call) and outside the OpenAPI document. Where web/dist is missing
 * `/` answers 503 saying how to build it, so an API started from a checkout without the build says why.
 *
 * Its Content-Security-Policy is helmet's default (plugins/helmet.ts): scripts and styles of this origin only (the
 * build has no inline script), images of this origin and data: (artifacts are fetched with the key and shown as
 * data: URLs), fetch to this origin.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync } from "fastify";
import { notFound } from "../errors.js";

export const DASHBOARD_DIR = fileURLToPath(new URL("../../../web/dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".map": "application/json; charset=utf-8",
};

/** A built file's name: what Vite writes (name-hash.ext), never a path. */
const ASSET_NAME = /^[\w-]+(\.[\w-]+)*\.[a-z0-9]+$/i;

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

export const dashboardRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, opts) => {
  const dir = opts.dir ?? DASHBOARD_DIR;

  app.get("/", { schema: { hide: true } }, async (_request, reply) => {
    let html: Buffer;
    try {
      html = await readFile(path.join(dir, "index.html"));
    } catch (err) {
      if (!missing(err)) throw err;
      return reply
        .status(503)
        .type("text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .send(`The dashboard is not built (${path.join(dir, "index.html")} is missing): run \`npm run build:web\` and reload.\nThe API itself is up: see /docs.\n`);
    }
    return reply.type("text/html; charset=utf-8").header("cache-control", "no-cache").send(html);
  });

  app.get<{ Params: { file: string } }>("/assets/:file", { schema: { hide: true } }, async (request, reply) => {
    const { file } = request.params;
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
    if (!ASSET_NAME.test(file) || !type) throw notFound("dashboard file", file);
    try {
      const body = await readFile(path.join(dir, "assets", file));
      return reply.type(type).header("cache-control", "public, max-age=31536000, immutable").send(body);
    } catch (err) {
      if (missing(err)) throw notFound("dashboard file", file);
      throw err;
    }
  });
};
