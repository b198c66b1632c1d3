/**
 * The routes that orchestrators and monitoring poll: they answer whatever the load, the database's state or the
 * caller's request rate (no rate limit, no 503 from under-pressure), so a probe always sees the truth.
 */
const PROBES = /^\/(healthz|readyz|metrics)(\?|$)/;

export function isProbe(url: string): boolean {
  return PROBES.test(url);
}
