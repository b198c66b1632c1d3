/**
 * Every slot a space can ever ask for, by path, with its option count: one per decision, one per item position
 * for repeated decisions (up to the largest count). Strategies that learn per decision (the REINFORCE
 * controller's heads, the predictor's one-hot encoding) need this fixed list up front, while `space.build` only
 * shows the slots active in one architecture.
 */
import type { Decision, LeafDecision } from "../spaces/definition.js";
import type { SearchSpace } from "../spaces/space.js";

export function decisionSlots(space: SearchSpace): { index: Map<string, number>; sizes: number[] } {
  const index = new Map<string, number>();
  const sizes: number[] = [];
  const add = (path: string, d: LeafDecision) => {
    index.set(path, sizes.length);
    sizes.push(d.type === "categorical" ? d.values.length : Math.floor((d.max - d.min) / d.step) + 1);
  };
  const decisions: Decision[] = space.definition.decisions;
  for (const d of decisions) {
    if (d.type !== "repeat") add(d.name, d);
    else {
      const count = decisions.find((c) => c.name === d.count);
      if (!count || count.type !== "integer") throw new Error(`space ${space.id}: repeat '${d.name}' has no integer count`);
      const maxCount = count.min + Math.floor((count.max - count.min) / count.step) * count.step;
      for (let i = 0; i < maxCount; i++) for (const leaf of d.decisions) add(`${d.name}[${i}].${leaf.name}`, leaf);
    }
  }
  return { index, sizes };
}
