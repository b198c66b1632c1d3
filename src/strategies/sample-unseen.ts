/**
 * Fresh random architectures: the way every strategy avoids proposing an architecture twice in a search.
 */
import type { Architecture } from "../spaces/definition.js";
import type { Rng } from "../core/rng.js";
import type { SearchSpace } from "../spaces/space.js";

/** Draws a feasibility filter may reject per draw it counts: its checks are arithmetic, far cheaper than a trial. */
export const INFEASIBLE_DRAWS_PER_TRY = 20;

/**
 * A uniform sample whose hash is not in `seen` (and that `accept`s, when given: the search's constraints on costs
 * known before training), or undefined after `tries` draws of unseen architectures, or `tries` ×
 * INFEASIBLE_DRAWS_PER_TRY draws in all (the space is exhausted, or its feasible part nearly so). Does not add it
 * to `seen`: the caller decides whether it is proposed.
 */
export function sampleUnseen(space: SearchSpace, rng: Rng, seen: ReadonlySet<string>, tries: number, accept?: (a: Architecture) => boolean): Architecture | undefined {
  if (seen.size >= space.size()) return undefined;
  let repeats = 0;
  for (let draws = 0; repeats < tries && draws < tries * INFEASIBLE_DRAWS_PER_TRY; draws++) {
    const architecture = space.sample(rng);
    if (seen.has(space.hash(architecture))) {
      repeats++;
      continue;
    }
    if (!accept || accept(architecture)) return architecture;
  }
  return undefined;
}
