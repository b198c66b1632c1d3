/**
 * The lifecycles of a search and of a trial, defined once: the zod schemas (API validation and OpenAPI), the
 * TypeScript types and the groups every layer reasons with all derive from these lists. The Prisma enums
 * `SearchStatus` and `TrialStatus` must hold the same values (tests/unit/core.test.ts compares them).
 */
import { z } from "zod";

export const SEARCH_STATUSES = ["queued", "running", "completed", "cancelled", "failed"] as const;
export const TRIAL_STATUSES = ["queued", "running", "completed", "failed", "pruned", "cancelled"] as const;
export const TRIAL_KINDS = ["trial", "supernet"] as const;

export const searchStatusSchema = z.enum(SEARCH_STATUSES);
export const trialStatusSchema = z.enum(TRIAL_STATUSES);
export const trialKindSchema = z.enum(TRIAL_KINDS);

export type SearchStatus = z.infer<typeof searchStatusSchema>;
export type TrialStatus = z.infer<typeof trialStatusSchema>;
/**
 * "trial": an architecture trained and scored; it counts toward the search's budget. "supernet": a one-shot job
 * (DARTS' supernet training) whose result feeds its strategy; not a trial of the budget, never on the leaderboard.
 */
export type TrialKind = z.infer<typeof trialKindSchema>;

/** A search that can still run trials. */
export const ACTIVE_SEARCH_STATUSES = ["queued", "running"] as const satisfies readonly SearchStatus[];
/** A trial that holds (or waits for) a trainer. */
export const IN_FLIGHT_STATUSES = ["queued", "running"] as const satisfies readonly TrialStatus[];
/** A trial whose result the strategy is told (a cancelled trial is not told: it was never scored). */
export const TOLD_STATUSES = ["completed", "failed", "pruned"] as const satisfies readonly TrialStatus[];
/** The statuses a trial ends with other than completed. */
export type EndStatus = Exclude<TrialStatus, "queued" | "running" | "completed">;

export const isActiveSearch = (s: SearchStatus) => (ACTIVE_SEARCH_STATUSES as readonly string[]).includes(s);
export const isInFlight = (s: TrialStatus) => (IN_FLIGHT_STATUSES as readonly string[]).includes(s);
