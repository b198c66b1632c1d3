/**
 * Errors that decide what happens to a trial, in the manner of BullMQ's UnrecoverableError: the class of an error
 * an evaluator throws says whether retrying can help.
 *
 *   TrialError           the trial itself is at fault (cannot be built, diverged, does not fit in memory):
 *                        it fails at once, the strategy is told, no retry.
 *   TrialStopped         the trial was asked to stop (cancel, pruning, shutdown) and did.
 *   ZodError             the trial's options or architecture do not parse where they are used: as TrialError.
 *   anything else        transient (a crashed training thread, a lost connection): retried up to TRIAL_ATTEMPTS.
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

export type ErrorClass = "trial" | "stopped" | "transient";

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof TrialStopped) return "stopped";
  if (err instanceof TrialError || (err instanceof Error && err.name === "ZodError")) return "trial";
  return "transient";
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
