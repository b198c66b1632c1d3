/**
 * src/core: the definitions every layer shares. The status lists are the single source of the zod schemas and
 * TypeScript types; PostgreSQL's enums (the Prisma schema) must hold exactly the same values.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { classifyError, errorText, isOutOfMemory, StateError, TrialError, TrialStopped } from "../../src/core/errors.js";
import { Rng, rngStateSchema } from "../../src/core/rng.js";
import { readState } from "../../src/core/state.js";
import { SEARCH_STATUSES, TRIAL_KINDS, TRIAL_STATUSES, searchStatusSchema, trialStatusSchema } from "../../src/core/status.js";
import { SearchStatus, TrialStatus } from "../../src/db/generated/enums.js";

describe("status enums", () => {
  it("are the Prisma schema's enums, value for value and in order", () => {
    expect([...SEARCH_STATUSES]).toEqual(Object.values(SearchStatus));
    expect([...TRIAL_STATUSES]).toEqual(Object.values(TrialStatus));
  });

  it("derive the zod schemas", () => {
    expect(searchStatusSchema.options).toEqual([...SEARCH_STATUSES]);
    expect(trialStatusSchema.safeParse("pruned").success).toBe(true);
    expect(trialStatusSchema.safeParse("done").success).toBe(false);
    expect([...TRIAL_KINDS]).toEqual(["trial", "supernet"]);
  });
});

describe("error classification", () => {
  it("decides retry: trial faults and unparsable options fail at once, stops are stops, lost connections are infrastructure, the rest is transient", () => {
    expect(classifyError(new TrialError("too big"))).toBe("trial");
    expect(classifyError(z.object({ a: z.number() }).safeParse({}).error)).toBe("trial");
    expect(classifyError(new TrialStopped("cancelled"))).toBe("stopped");
    expect(classifyError(new Error("Connection terminated unexpectedly"))).toBe("infra"); // tests/unit/infra.test.ts
    expect(classifyError(new Error("the training thread exited"))).toBe("transient");
    expect(classifyError("a string")).toBe("transient");
    expect(errorText(new TrialError("x"))).toBe("TrialError: x");
  });

  it("recognises a backend out of memory", () => {
    expect(isOutOfMemory(new RangeError("Array buffer allocation failed"))).toBe(true);
    expect(isOutOfMemory(new Error("Aborted(Cannot enlarge memory arrays)"))).toBe(true);
    expect(isOutOfMemory(new Error("shapes do not match"))).toBe(false);
  });
});

describe("readState", () => {
  const schema = z.object({ rng: rngStateSchema, seen: z.array(z.string()) });

  it("returns a valid state, typed", () => {
    const rng = new Rng(5);
    rng.next();
    const state = readState(schema, JSON.parse(JSON.stringify({ rng: rng.state(), seen: ["a"] })), "random strategy");
    expect(new Rng(state.rng).next()).toBe(rng.next());
  });

  it("fails with a StateError naming the first bad field", () => {
    expect(() => readState(schema, { rng: [1, 2, 3], seen: [] }, "random strategy")).toThrow(StateError);
    expect(() => readState(schema, { rng: [1, 2, 3, 4], seen: [7] }, "random strategy")).toThrow(/random strategy state is unreadable at seen\.0/);
    expect(() => readState(schema, null, "x")).toThrow(/at \(root\)/);
  });
});
