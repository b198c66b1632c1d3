/**
 * The vocabulary a model's manifest keeps, read from its task (src/evaluators/task-vocabulary.ts): the built-in
 * character LM through its characters, and a dataset task's vocabulary with its unknown token however it spells it.
 */
import { describe, expect, it } from "vitest";
import { taskVocabulary } from "../../src/evaluators/task-vocabulary.js";
import { CharLMTask } from "../../src/tasks/charlm.js";
import type { SequenceTask } from "../../src/tasks/sequence-task.js";

const fake = (extra: Record<string, unknown>, tokens = ["<unk>", "a", "b"]): SequenceTask =>
  ({ id: "charlm:ds_x", vocabSize: tokens.length, decode: (ids: readonly number[]) => ids.map((i) => tokens[i] ?? "").join(""), ...extra }) as unknown as SequenceTask;

describe("taskVocabulary", () => {
  it("a character LM: its characters, no unknown token", () => {
    const task = new CharLMTask("abcab cab ".repeat(10));
    expect(taskVocabulary(task)).toEqual({ tokens: [" ", "a", "b", "c"], unknownToken: null });
  });

  it("a text dataset's CharLMTask: the training split's characters, then <unk>", () => {
    const task = new CharLMTask({ id: "charlm:ds_x", train: "abcab cab ".repeat(10), val: "abz", test: "zz" });
    expect(taskVocabulary(task)).toEqual({ tokens: [" ", "a", "b", "c", "<unk>"], unknownToken: 4 });
  });

  it("a dataset task: its vocabulary and the id unknown characters map to, however the task names them", () => {
    expect(taskVocabulary(fake({ chars: ["<unk>", "a", "b"], unknownId: 0 }))).toEqual({ tokens: ["<unk>", "a", "b"], unknownToken: 0 });
    expect(taskVocabulary(fake({ vocabulary: { chars: ["a", "b", "?"], unknown: 2 } }, ["a", "b", "?"]))).toEqual({ tokens: ["a", "b", "?"], unknownToken: 2 });
    expect(taskVocabulary(fake({ vocabulary: { tokens: ["a", "b", "<u>"], unknown: "<u>" } }, ["a", "b", "<u>"])).unknownToken).toBe(2);
    // Only listed as <unk>: still the unknown token.
    expect(taskVocabulary(fake({}))).toEqual({ tokens: ["<unk>", "a", "b"], unknownToken: 0 });
    // A list of the wrong length is not trusted: decode gives the tokens.
    expect(taskVocabulary(fake({ chars: ["a"] })).tokens).toEqual(["<unk>", "a", "b"]);
  });
});
