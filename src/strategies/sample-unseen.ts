/**
 * Fresh random architectures: the way every strategy avoids proposing an architecture twice in a search.
 */
import type { Architecture } from "../spaces/definition.js";
import type { Rng } from "../core/rng.js";
import type { SearchSpace } from "../spaces/space.js";

/**
 * A uniform sample whose hash is not in `seen`, or undefined after `tries` draws (the space is exhausted or
 * nearly so). Does not add it to `seen`: the caller decides whether it is proposed.
 */
export function sampleUnseen(space: SearchSpace, rng: Rng, seen: ReadonlySet<string>, tries: number): Architecture | undefined {
  if (seen.size >= space.size()) return undefined;
  for (let i = 0; i < tries; i++) {
    const architecture = space.sample(rng);
    if (!seen.has(space.hash(architecture))) return architecture;
  }
  return undefined;
}
