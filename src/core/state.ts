/**
 * Reading back the JSON state a strategy or scheduler stored in PostgreSQL. A state that does not match its
 * schema (corrupt, or written by another version) is a `StateError` naming the first bad field, not a crash
 * somewhere later in the search.
 */
import type { z } from "zod";
import { StateError } from "./errors.js";

export function readState<T>(schema: z.ZodType<T>, state: unknown, what: string): T {
  const parsed = schema.safeParse(state);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new StateError(`${what} state is unreadable at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
}
