/**
 * Security headers (@fastify/helmet) on every answer: nosniff, frame-ancestors and X-Frame-Options, no referrer,
 * same-origin resource and opener policies, HSTS (HSTS_MAX_AGE_S) and a Content-Security-Policy.
 *
 * The policy is helmet's default, which the Swagger UI at /docs works under (its scripts and styles are files of
 * its own origin; it sets inline style attributes, which `style-src 'unsafe-inline'` allows; its logo is a data:
 * image), and which the dashboard at `/` is built for (its own script and style files, no inline script, artifacts
 * shown as data: images), less `upgrade-insecure-requests`: the API is often served over plain HTTP (behind a
 * proxy, or on a LAN address), where that directive would send the page's own requests to an https:// that does
 * not answer.
 */
import helmet from "@fastify/helmet";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config.js";

export async function registerHelmet(app: FastifyInstance, config: Pick<Config, "HSTS_MAX_AGE_S">): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: true, directives: { "upgrade-insecure-requests": null } },
    strictTransportSecurity: config.HSTS_MAX_AGE_S > 0 ? { maxAge: config.HSTS_MAX_AGE_S, includeSubDomains: false } : false,
  });
}
