/**
 * Errors that decide what happens to a trial, in the manner of BullMQ's UnrecoverableError: the class of an error
 * an evaluator throws says whether retrying can help.
 *
 *   TrialError           the trial itself is at fault (cannot be built, diverged, does not fit in memory, ran
 *                        past TRIAL_TIMEOUT_S: TrialTimeout): it fails at once, the strategy is told, no retry.
 *   TrialStopped         the trial was asked to stop (cancel, pruning, shutdown) and did.
 *   ZodError             the trial's options or architecture do not parse where they are used: as TrialError.
 *   infrastructure       PostgreSQL or Redis unreachable (InfraError, or a connection error as pg, Prisma or ioredis
 *                        raise it; `isInfraError`): never the trial's fault, never charged to its attempts or to
 *                        its search's maxFailures. The statement is retried with backoff until the service returns
 *                        (core/infra.ts), up to INFRA_RETRY_MAX_S; past that the work is handed back, not failed.
 *   anything else        transient (a crashed training thread, a bug): retried up to TRIAL_ATTEMPTS.
 */

/** The trial is at fault (it cannot be built, diverged, is too large): fail it without retrying. */
export class TrialError extends Error {
  override name = "TrialError";
}

/** The trial was asked to stop (cancel, pruning, shutdown) and did. */
export class TrialStopped extends Error {
  override name = "TrialStopped";
}

/** A search's stored strategy or scheduler state cannot be read back (corrupt, or written by another version). */
export class StateError extends Error {
  override name = "StateError";
}

/** The trial's evaluation ran longer than TRIAL_TIMEOUT_S: its own fault, like any TrialError (failed, not retried). */
export class TrialTimeout extends TrialError {
  override name = "TrialTimeout";
}

/** A backing service of the service itself. */
export type InfraService = "PostgreSQL" | "Redis";

/**
 * PostgreSQL or Redis could not be used (unreachable, connection lost) for longer than the caller was willing to
 * retry. Work that fails with it is handed back (retried later), never charged to a trial or a search.
 */
export class InfraError extends Error {
  override name = "InfraError";
  constructor(
    readonly service: InfraService | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type ErrorClass = "trial" | "stopped" | "infra" | "transient";

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof TrialStopped) return "stopped";
  if (err instanceof TrialError || (err instanceof Error && err.name === "ZodError")) return "trial";
  if (isInfraError(err)) return "infra";
  return "transient";
}

/** Socket-level failures: the peer is down, unreachable or dropped the connection (either service). */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"]);
/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01 admin shutdown
 * (pg_terminate_backend, a fast shutdown), 57P02 crash shutdown, 57P03 cannot connect now (starting or shutting
 * down), 53300 too many connections.
 */
const PG_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;
/** Prisma's codes for the same: P1001 unreachable, P1002 timed out, P1008 operation timed out, P1017 closed, P2024 pool timeout. */
const PRISMA_UNAVAILABLE = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
/** What Prisma's pg adapter calls them (a DriverAdapterError's cause). */
const ADAPTER_UNAVAILABLE = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
/** node-postgres' own messages for a connection that went away. */
const PG_MESSAGES = /Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|timeout exceeded when trying to connect|terminating connection due to|the database system is (starting up|shutting down|in recovery mode)/i;
/** ioredis' (and BullMQ's) messages for a connection that is down; LOADING: a restarted Redis reading its dump. */
const REDIS_MESSAGES = /^Connection is closed\.?$|Stream isn't writeable|Reached the max retries per request limit|^LOADING |^MASTERDOWN |^TRYAGAIN |^CLUSTERDOWN /;

/**
 * Which backing service an error says is unavailable, or undefined when it is no such error. Looks through
 * `cause` chains (Prisma wraps the driver's error, AggregateError groups a failed connect's attempts). An error
 * whose kind alone does not name its service (ECONNREFUSED) is reported as PostgreSQL when it carries pg's
 * marks and otherwise by `hint`, the service the caller was talking to.
 */
export function infraService(err: unknown, hint?: InfraService): InfraService | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): InfraService | "either" | undefined => {
    if (!e || typeof e !== "object" || seen.has(e) || depth > 8) return undefined;
    seen.add(e);
    const x = e as { name?: unknown; code?: unknown; errorCode?: unknown; message?: unknown; kind?: unknown; cause?: unknown; errors?: unknown; meta?: unknown };
    if (e instanceof InfraError) return e.service ?? "either";
    // Prisma's initialization errors carry their code as `errorCode`.
    const code = typeof x.code === "string" ? x.code : typeof x.errorCode === "string" ? x.errorCode : undefined;
    const message = typeof x.message === "string" ? x.message : "";
    if (code && PG_UNAVAILABLE.test(code)) return "PostgreSQL";
    if (code && PRISMA_UNAVAILABLE.has(code)) return "PostgreSQL";
    if (typeof x.kind === "string" && ADAPTER_UNAVAILABLE.has(x.kind)) return "PostgreSQL";
    if (PG_MESSAGES.test(message)) return "PostgreSQL";
    if (x.name === "MaxRetriesPerRequestError" || x.name === "ConnectionClosedError" || REDIS_MESSAGES.test(message)) return "Redis";
    if (code && SOCKET_CODES.has(code)) return "either";
    const inner = [x.cause, ...(Array.isArray(x.errors) ? x.errors : []), (x.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError];
    let found: InfraService | "either" | undefined;
    for (const i of inner) {
      const s = visit(i, depth + 1);
      if (s && s !== "either") return s;
      found ??= s;
    }
    return found;
  };
  const s = visit(err, 0);
  return s === "either" ? (hint ?? "PostgreSQL") : s;
}

/** True when an error says PostgreSQL or Redis is unavailable (not that a statement or command is wrong). */
export function isInfraError(err: unknown): boolean {
  return infraService(err) !== undefined;
}

/**
 * True when an error says the database cannot be reached right now (connection refused, dropped, server starting
 * or shutting down): for an API, a 503 with `Retry-After` rather than a 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return infraService(err, "PostgreSQL") === "PostgreSQL";
}

/** True for the ways a tfjs backend says it ran out of memory (a wasm heap at its cap, a failed allocation). */
export function isOutOfMemory(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return err instanceof RangeError || /out of memory|Aborted\(|allocation failed|Cannot enlarge memory/i.test(msg);
}

/** An error's text as stored with a failed trial: "Name: message". */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
