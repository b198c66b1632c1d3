/** The char-LM and associative-recall tasks: splits, fixed evaluation sets, seeded batches. */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { charLMTask } from "../../src/tasks/charlm.js";
import { RecallTask } from "../../src/tasks/recall.js";

describe("charlm-moby-dick", () => {
  const task = charLMTask();

  it("has the whole text's characters, a contiguous 90/10 split and round-trips text", () => {
    expect(task.vocabSize).toBe(83);
    expect(task.train.length + task.val.length).toBe(1_190_317);
    expect(task.val.length / (task.train.length + task.val.length)).toBeCloseTo(0.1, 3);
    expect(task.decode(task.encode("Call me Ishmael."))).toBe("Call me Ishmael.");
    expect(task.decode(Array.from(task.train.subarray(0, 11)))).toBe("CHAPTER 1. ");
  });

  it("draws seeded batches whose targets are the next characters", () => {
    const a = task.trainBatch(new Rng(4), 3, 20);
    const b = task.trainBatch(new Rng(4), 3, 20);
    expect(a.inputs).toEqual(b.inputs);
    expect(Array.from(a.inputs.subarray(1, 20))).toEqual(Array.from(a.targets.subarray(0, 19)));
  });

  it("evaluates on a fixed set of validation windows", () => {
    const e1 = task.evalBatches(32, 10, 4);
    const e2 = task.evalBatches(32, 10, 4);
    expect(e1.map((b) => b.batch)).toEqual([4, 4, 2]);
    expect(e1).toEqual(e2);
    // the first window starts at the beginning of the validation split
    expect(Array.from(e1[0]!.inputs.subarray(0, 32))).toEqual(Array.from(task.val.subarray(0, 32)));
  });
});

describe("assoc-recall", () => {
  it("answers each query with the value paired with its key", () => {
    const task = new RecallTask({ keys: 8, values: 8, pairs: 4 });
    const b = task.trainBatch(new Rng(1), 5, 20);
    for (let s = 0; s < 5; s++) {
      const seq = Array.from(b.inputs.subarray(s * 20, (s + 1) * 20));
      const pairs = new Map<number, number>();
      for (let p = 0; p < 4; p++) pairs.set(seq[2 * p]!, seq[2 * p + 1]!);
      expect(pairs.size).toBe(4);
      let answers = 0;
      for (let i = 0; i < 20; i++) {
        if (b.weights![s * 20 + i] === 1) {
          answers++;
          expect(b.targets[s * 20 + i]).toBe(pairs.get(seq[i]!));
        }
      }
      expect(answers).toBeGreaterThan(0);
    }
  });

  it("has an evaluation set independent of the trial seed", () => {
    const task = new RecallTask();
    expect(task.evalBatches(24, 6, 4)).toEqual(task.evalBatches(24, 6, 4));
    expect(task.decode(task.encode("ab01"))).toBe("ab01");
  });
});
