/**
 * Infrastructure faults (src/core/errors.ts, src/core/infra.ts): which errors say PostgreSQL or Redis is unavailable
 * (as pg, Prisma's pg adapter and ioredis raise them), an outage logged once, and a statement retried with backoff
 * until the service is back, up to its ceiling.
 */
import { describe, expect, it, vi } from "vitest";
import { classifyError, InfraError, infraService, isDatabaseUnavailable, isInfraError, TrialError, TrialTimeout } from "../../src/core/errors.js";
import { INFRA_BACKOFF, infraBackoff, Outage, retryInfra } from "../../src/core/infra.js";

const withCode = (message: string, code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe("infrastructure errors", () => {
  it("recognises PostgreSQL unavailable as pg raises it: sockets, SQLSTATE classes 08 and 57P01–57P03, dropped connections", () => {
    expect(infraService(withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED", { errno: -111, syscall: "connect" }), "PostgreSQL")).toBe("PostgreSQL");
    expect(infraService(withCode("read ECONNRESET", "ECONNRESET"))).toBe("PostgreSQL"); // no service named: the default
    for (const code of ["08006", "08001", "08003", "57P01", "57P02", "57P03", "53300"]) expect(infraService(withCode("x", code, { severity: "FATAL" }))).toBe("PostgreSQL");
    expect(infraService(new Error("Connection terminated unexpectedly"))).toBe("PostgreSQL");
    expect(infraService(new Error("Connection terminated"))).toBe("PostgreSQL");
    expect(infraService(new Error("Client has encountered a connection error and is not queryable"))).toBe("PostgreSQL");
  });

  it("looks through Prisma's wrapping: its codes, the pg adapter's error kinds, causes and aggregated connect attempts", () => {
    expect(isInfraError(withCode("Server has closed the connection.", "P1017"))).toBe(true);
    expect(isInfraError(Object.assign(new Error("Can't reach database server"), { errorCode: "P1001" }))).toBe(true);
    const p2010 = withCode("Raw query failed. Code: `57P01`.", "P2010", { meta: { driverAdapterError: { name: "DriverAdapterError", cause: { kind: "postgres", code: "57P01" } } } });
    expect(infraService(p2010)).toBe("PostgreSQL");
    expect(isInfraError({ name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable" } })).toBe(true);
    expect(isInfraError(new Error("wrapped", { cause: withCode("connect ECONNREFUSED", "ECONNREFUSED") }))).toBe(true);
    expect(isInfraError(Object.assign(new AggregateError([withCode("a", "ECONNREFUSED"), withCode("b", "ECONNREFUSED")], ""), { code: "ECONNREFUSED" }))).toBe(true);
  });

  it("recognises Redis unavailable as ioredis raises it", () => {
    expect(infraService(new Error("Connection is closed."))).toBe("Redis");
    expect(infraService(Object.assign(new Error("Reached the max retries per request limit (which is 0)."), { name: "MaxRetriesPerRequestError" }))).toBe("Redis");
    expect(infraService(new Error("LOADING Redis is loading the dataset in memory"))).toBe("Redis");
    expect(infraService(withCode("connect ECONNREFUSED 127.0.0.1:6379", "ECONNREFUSED"), "Redis")).toBe("Redis");
  });

  it("is not fooled by errors of the statement or of the trial", () => {
    expect(isInfraError(withCode('duplicate key value violates unique constraint "x"', "23505", { severity: "ERROR" }))).toBe(false);
    expect(isInfraError(withCode("syntax error", "42601"))).toBe(false);
    expect(isInfraError(withCode("Unique constraint failed", "P2002"))).toBe(false);
    expect(isInfraError(new Error("Missing lock for job x. moveToFinished"))).toBe(false);
    expect(isInfraError(new TrialError("architecture not in the table"))).toBe(false);
    expect(isInfraError(undefined)).toBe(false);
    expect(isInfraError("ECONNREFUSED")).toBe(false);
  });

  it("classifies: infrastructure is its own class; a timeout is the trial's fault", () => {
    expect(classifyError(new InfraError("PostgreSQL", "gave up"))).toBe("infra");
    expect(classifyError(withCode("terminating connection due to administrator command", "57P01"))).toBe("infra");
    expect(classifyError(new TrialTimeout("the evaluation ran longer than TRIAL_TIMEOUT_S = 1 s"))).toBe("trial");
    expect(new TrialTimeout("x")).toBeInstanceOf(TrialError);
  });

  it("isDatabaseUnavailable: the test an API maps to 503 with Retry-After", () => {
    expect(isDatabaseUnavailable(withCode("connect ECONNREFUSED", "ECONNREFUSED"))).toBe(true);
    expect(isDatabaseUnavailable(withCode("the database system is starting up", "57P03"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection is closed."))).toBe(false); // Redis
    expect(isDatabaseUnavailable(withCode("duplicate key", "23505"))).toBe(false);
  });
});

function logger() {
  const lines: string[] = [];
  return { lines, warn: (_: object, msg: string) => void lines.push(`warn ${msg}`), info: (_: object, msg: string) => void lines.push(`info ${msg}`) };
}

describe("Outage", () => {
  it("logs an outage once: at its first failure, and once calls succeed again (after OUTAGE_SETTLE_MS without failure)", async () => {
    vi.useFakeTimers();
    try {
      const log = logger();
      const outage = new Outage("PostgreSQL", log);
      const recovered: number[] = [];
      outage.onRecovered((ms) => recovered.push(ms));
      outage.ok(); // not down: nothing
      outage.failed(withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"));
      for (let i = 0; i < 50; i++) outage.failed(new Error("Connection terminated unexpectedly"));
      expect(log.lines).toEqual(["warn PostgreSQL unreachable: connect ECONNREFUSED 127.0.0.1:5432"]);
      expect(outage.down).toBe(true);
      vi.advanceTimersByTime(2000);
      outage.ok(Date.now() - 5000); // a call made before the outage began proves nothing
      vi.advanceTimersByTime(5000);
      expect(outage.down).toBe(true);
      outage.ok();
      vi.advanceTimersByTime(300);
      outage.failed(new Error("Connection terminated")); // it flaps: the same outage
      vi.advanceTimersByTime(700);
      outage.ok();
      vi.advanceTimersByTime(1000);
      expect(log.lines).toEqual(["warn PostgreSQL unreachable: connect ECONNREFUSED 127.0.0.1:5432", "info PostgreSQL reachable again after 8.0 s"]);
      expect(recovered).toEqual([8000]);
      expect(outage.down).toBe(false);
      outage.failed(new Error("Connection is closed."));
      expect(log.lines.at(-1)).toBe("warn PostgreSQL unreachable: Connection is closed.");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("retryInfra", () => {
  const instant = () => Promise.resolve();

  it("retries a statement while the service is unavailable, with growing backoff, and returns its result", async () => {
    const log = logger();
    const outage = new Outage("PostgreSQL", log, Date.now, 0);
    const waits: number[] = [];
    let calls = 0;
    const result = await retryInfra("complete the trial", async () => {
      if (++calls < 5) throw withCode("connect ECONNREFUSED", "ECONNREFUSED");
      return "done";
    }, { service: "PostgreSQL", maxMs: 60_000, outage, sleep: async (ms) => void waits.push(ms) });
    expect(result).toBe("done");
    expect(calls).toBe(5);
    expect(waits).toHaveLength(4);
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBeGreaterThan(waits[i - 1]!);
    await new Promise((r) => setTimeout(r, 5));
    expect(log.lines).toEqual(["warn PostgreSQL unreachable: connect ECONNREFUSED", "info PostgreSQL reachable again after 0.0 s"]);
  });

  it("throws any other error at once (the service answered)", async () => {
    let calls = 0;
    const err = withCode("duplicate key", "23505");
    await expect(retryInfra("x", async () => {
      calls++;
      throw err;
    }, { service: "PostgreSQL", maxMs: 60_000, sleep: instant })).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it("gives up at its ceiling with an InfraError naming the statement and the service", async () => {
    const err = await retryInfra("store the learning curve", () => Promise.reject(new Error("Connection terminated unexpectedly")), { service: "PostgreSQL", maxMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).service).toBe("PostgreSQL");
    expect((err as Error).message).toMatch(/^store the learning curve: PostgreSQL unavailable for 0\.\d s \(INFRA_RETRY_MAX_S = 0.3\): Connection terminated unexpectedly$/);
    expect(classifyError(err)).toBe("infra");
  });

  it("counts a call that hangs (ioredis waiting for Redis to come back) as failing once the ceiling is reached", async () => {
    const err = await retryInfra("enqueue an advance", () => new Promise(() => {}), { service: "Redis", maxMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/enqueue an advance: .*Redis/);
  });

  it("backs off from 100 ms, doubling, to at most 3 s, with jitter", () => {
    expect(infraBackoff(0, () => 1)).toBe(INFRA_BACKOFF.firstDelayMs);
    expect(infraBackoff(3, () => 1)).toBe(800);
    expect(infraBackoff(50, () => 1)).toBe(INFRA_BACKOFF.maxDelayMs);
    expect(infraBackoff(50, () => 0)).toBe(0.75 * INFRA_BACKOFF.maxDelayMs);
  });
});
