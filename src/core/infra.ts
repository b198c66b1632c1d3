/**
 * Riding out an outage of PostgreSQL or Redis. A lost connection is not the fault of the work that met it, so:
 *
 *   Outage        one per service and process: logs "PostgreSQL unreachable: …" when the first call fails and
 *                 "PostgreSQL reachable again after N s" once calls succeed again: once per outage, not per call.
 *   retryInfra    runs one statement of work in hand (a trial's start, its curve, its completion) and retries it with
 *                 exponential backoff while it fails with an infrastructure error (core/errors.ts), up to a ceiling
 *                 (INFRA_RETRY_MAX_S); past it, an InfraError: the caller hands the work back, it never fails it.
 *
 * A call that hangs (ioredis queues commands while Redis is down and sends them when it is back) counts as failing
 * once the ceiling is reached.
 */
import { InfraError, infraService, type InfraService } from "./errors.js";

/** Where an outage is logged (a pino logger fits). */
export interface OutageLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** The first line of an error's message (pg and Prisma messages run over several). */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err);
  return msg.trim().split("\n").find((l) => l.trim())?.trim() ?? msg;
}

/**
 * How long a service must stay reachable before an outage counts as over. A server going down answers some calls
 * and refuses others for a moment (a fast shutdown ends its sessions one by one), and one coming back may drop
 * again: an outage that flaps within this window is one outage, logged once.
 */
export const OUTAGE_SETTLE_MS = 1000;

/** The state of one backing service as one process sees it. */
export class Outage {
  private downSince: number | undefined;
  /** The last success while down, waiting OUTAGE_SETTLE_MS without a failure to end the outage. */
  private settling: { at: number; timer: NodeJS.Timeout } | undefined;
  private readonly listeners: Array<(downMs: number) => void> = [];

  constructor(
    readonly service: InfraService,
    private readonly log: OutageLogger,
    private readonly now: () => number = Date.now,
    private readonly settleMs = OUTAGE_SETTLE_MS,
  ) {}

  /** True between a failure and the end of the outage (a success not followed by a failure for OUTAGE_SETTLE_MS). */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** A call failed because the service is unavailable: logged only if it starts an outage. */
  failed(err: unknown): void {
    if (this.settling) {
      clearTimeout(this.settling.timer);
      this.settling = undefined;
    }
    if (this.downSince !== undefined) return;
    this.downSince = this.now();
    const reason = firstLine(err);
    this.log.warn({ service: this.service, err: reason }, `${this.service} unreachable: ${reason}`);
  }

  /**
   * A call reached the service (whatever it answered). `startedAt`: when that call was made; one made before the
   * outage began proves nothing. The outage ends, logged with its length, if no failure follows within
   * OUTAGE_SETTLE_MS.
   */
  ok(startedAt?: number): void {
    if (this.downSince === undefined || this.settling || (startedAt !== undefined && startedAt < this.downSince)) return;
    const at = this.now();
    const timer = setTimeout(() => this.end(at), this.settleMs);
    timer.unref?.();
    this.settling = { at, timer };
  }

  private end(at: number): void {
    if (this.downSince === undefined) return;
    const downMs = at - this.downSince;
    this.downSince = undefined;
    this.settling = undefined;
    this.log.info({ service: this.service, downMs }, `${this.service} reachable again after ${(downMs / 1000).toFixed(1)} s`);
    for (const fn of this.listeners) fn(downMs);
  }

  /** Calls `fn` at the end of every outage. */
  onRecovered(fn: (downMs: number) => void): void {
    this.listeners.push(fn);
  }
}

export interface Outages {
  postgres: Outage;
  redis: Outage;
}

export function createOutages(log: OutageLogger): Outages {
  return { postgres: new Outage("PostgreSQL", log), redis: new Outage("Redis", log) };
}

/** Backoff between retries: from FIRST_DELAY_MS, doubling, at most MAX_DELAY_MS, with jitter (¾ to 1 of it). */
export const INFRA_BACKOFF = { firstDelayMs: 100, maxDelayMs: 3000 } as const;

export function infraBackoff(retry: number, random: () => number = Math.random): number {
  const ms = Math.min(INFRA_BACKOFF.maxDelayMs, INFRA_BACKOFF.firstDelayMs * 2 ** Math.min(retry, 30));
  return Math.round(ms * (0.75 + 0.25 * random()));
}

export interface RetryOptions {
  /** The service the call talks to (names a connection error that does not say which). */
  service: InfraService;
  /** Give up after this long, in ms (INFRA_RETRY_MAX_S × 1000). */
  maxMs: number;
  /** Told of every failure and success. */
  outage?: Outage;
  /** Waits between retries (tests make them instant). */
  sleep?: (ms: number) => Promise<void>;
  /** Called before the first retry of this call (e.g. to log, at debug level, what waits for the service). */
  onRetry?: (err: unknown) => void;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn`, retrying it with backoff while it fails with an infrastructure error, for at most `maxMs`; then throws
 * an InfraError naming `what`. Any other error is thrown at once (the service answered: it is up). `fn` must be
 * safe to run again after a failure (the statements of db/ that a trainer retries are conditional or idempotent).
 */
export async function retryInfra<T>(what: string, fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const start = Date.now();
  const sleep = opts.sleep ?? sleepMs;
  for (let retry = 0; ; retry++) {
    const left = Math.max(1, opts.maxMs - (Date.now() - start));
    const attemptStart = Date.now();
    try {
      const result = await withDeadline(fn(), left, () => new InfraError(opts.service, `${what}: no answer from ${opts.service} within ${Math.round(left / 1000)} s`));
      opts.outage?.ok(attemptStart);
      return result;
    } catch (err) {
      const service = infraService(err, opts.service);
      if (!service) {
        opts.outage?.ok(attemptStart);
        throw err;
      }
      opts.outage?.failed(err);
      if (retry === 0) opts.onRetry?.(err);
      const wait = infraBackoff(retry);
      const elapsed = Date.now() - start;
      if (elapsed + wait > opts.maxMs) {
        throw new InfraError(service, `${what}: ${service} unavailable for ${(elapsed / 1000).toFixed(1)} s (INFRA_RETRY_MAX_S = ${opts.maxMs / 1000}): ${firstLine(err)}`, { cause: err });
      }
      await sleep(wait);
    }
  }
}

/** `promise`, or `timeout()`'s error after `ms` (the promise goes on; its outcome is then ignored). */
function withDeadline<T>(promise: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
