/**
 * The vocabulary a language model's manifest keeps (src/models/artifact/format.ts), read from the task it trained
 * on, so that `generate` encodes prompts and decodes tokens as the task did. The built-in tasks give it through
 * `decode` token by token; a task made from an uploaded text dataset exposes its vocabulary (contracts.md: the
 * characters, plus how unknown characters are mapped: an explicit `<unk>` token; CharLMTask has `vocabulary` and
 * `unknown: {token, index}`). Read defensively, so that a task that spells these fields a little differently
 * (`chars`, `tokens`; `unknownId`, `unkId`, …) still gives its vocabulary rather than one guessed from `decode`.
 */
import type { SequenceTask } from "../tasks/sequence-task.js";

export interface TaskVocabulary {
  /** Token id → its text. */
  tokens: string[];
  /** The id unknown characters map to (the task's `<unk>`), or null when the task has none (every character known). */
  unknownToken: number | null;
}

/** The text of the unknown token where a task names none but lists it. */
export const UNKNOWN_TEXT = "<unk>";

const isStrings = (v: unknown, n: number): v is string[] => Array.isArray(v) && v.length === n && v.every((t) => typeof t === "string");
const isId = (v: unknown, n: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < n;

export function taskVocabulary(task: SequenceTask): TaskVocabulary {
  const n = task.vocabSize;
  const t = task as unknown as Record<string, unknown>;
  const nested = t.vocabulary !== null && typeof t.vocabulary === "object" && !Array.isArray(t.vocabulary) ? (t.vocabulary as Record<string, unknown>) : {};
  const listed = [t.vocabulary, nested.tokens, nested.chars, nested.characters, t.tokens, t.chars].find((v) => isStrings(v, n));
  const tokens = listed ? [...listed] : Array.from({ length: n }, (_, i) => task.decode([i]));
  // CharLMTask of a dataset (src/tasks/charlm.ts): `unknown: {token: "<unk>", index}`.
  const unknownObject = t.unknown !== null && typeof t.unknown === "object" ? (t.unknown as Record<string, unknown>) : {};
  const unknown = [unknownObject.index, unknownObject.id, t.unknownId, t.unknownToken, t.unkId, t.unknownIndex, nested.unknownId, nested.unknownToken, nested.unknown, nested.unk].find((v) => isId(v, n));
  // An unknown token named by its text (`unknown: "<unk>"`), else listed as `<unk>`.
  const named = [t.unknown, nested.unknown, nested.unk].find((v) => typeof v === "string" && tokens.includes(v)) as string | undefined;
  const byText = tokens.indexOf(named ?? UNKNOWN_TEXT);
  return { tokens, unknownToken: unknown ?? (byText >= 0 ? byText : null) };
}
