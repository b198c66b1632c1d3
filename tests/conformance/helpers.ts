/**
 * Shared pieces of the conformance suites: the spaces they run on (every built-in space of search-spaces/ and the
 * small spaces of the unit tests), a trial driver that imitates the orchestrator (tests/unit/strategies-helpers.ts),
 * and a stand-in for the jobs a strategy may ask for (DARTS' supernet), so that what comes after a job is covered too.
 */
import { loadConfig } from "../../src/config.js";
import { checkSearch } from "../../src/catalogue/index.js";
import { EVALUATOR_CATALOGUE, TRAIN_FAMILIES } from "../../src/catalogue/evaluators.js";
import { Rng } from "../../src/core/rng.js";
import type { JsonValue } from "../../src/core/json.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { SearchSpace } from "../../src/spaces/space.js";
import type { Proposal, Strategy, TrialResult } from "../../src/strategies/strategy.js";
import { constrained, isTrial, objective, resultFor, type DriveOptions } from "../unit/strategies-helpers.js";

export { constrained, drive, isTrial, nb201, objective, resultFor, roundTrip, type DriveOptions } from "../unit/strategies-helpers.js";

/** Every space the service offers (SEARCH_SPACES_DIR), as the API loads them. */
export const builtInSpaces = (): SearchSpace[] => SpaceRegistry.fromDirectory(loadConfig().SEARCH_SPACES_DIR).all();

/** One categorical decision: the smallest space there is (as in tests/unit/random-strategy.test.ts). */
export const tiny = new SearchSpace({ id: "tiny", version: 1, family: "test", decisions: [{ name: "x", type: "categorical", values: [1, 2, 3] }] });

/** A global `when`, booleans, and constraints on the items of a repeat (none of the built-in spaces has those). */
export const nested = new SearchSpace({
  id: "nested",
  version: 1,
  family: "test",
  decisions: [
    { name: "kind", type: "categorical", values: ["mlp", "conv"] },
    { name: "kernel", type: "integer", min: 1, max: 7, step: 2, when: "kind == 'conv'" },
    { name: "bias", type: "categorical", values: [true, false] },
    { name: "depth", type: "integer", min: 0, max: 3 },
    {
      name: "blocks",
      type: "repeat",
      count: "depth",
      decisions: [
        { name: "width", type: "integer", min: 8, max: 32, step: 8 },
        { name: "groups", type: "categorical", values: [1, 2, 4, 8] },
        { name: "gate", type: "categorical", values: ["none", "sigmoid"], when: "width >= 16" },
      ],
      constraints: ["width % groups == 0", "width / groups >= 4"],
    },
  ],
  constraints: ["kind == 'mlp' || kernel <= 5 || !bias"],
});

/** The small spaces of the unit tests: the hard parts of the space language. */
export const testSpaces = (): SearchSpace[] => [constrained, tiny, nested];

/**
 * A search request (evaluator and objective) that the API accepts for `strategy` on `space`, or undefined where
 * none does: a strategy "supports" a space where some evaluator of the catalogue makes a valid search of them.
 */
export function compatibleSearch(strategy: { type: string } & Record<string, unknown>, space: SearchSpace) {
  for (const entry of EVALUATOR_CATALOGUE) {
    if (!entry.forSearches) continue;
    const tasks: Array<string | undefined> = entry.type === "train" ? [...(TRAIN_FAMILIES[space.family]?.tasks ?? [])] : [undefined];
    for (const task of tasks) {
      for (const metric of entry.metrics) {
        for (const direction of ["minimize", "maximize"] as const) {
          const request = { strategy, evaluator: { type: entry.type, ...(task ? { task } : {}) }, objective: { metric, direction } };
          if ("task" in checkSearch(space, request)) return request;
        }
      }
    }
  }
  return undefined;
}

/**
 * A stand-in for a job's evaluator: a `supernet` job "derives" three architectures sampled from the space (what the
 * real one reports under `derived`); a job of any other evaluator fails, as it does in tests/unit/strategies-helpers.ts.
 */
export function jobResult(p: Proposal, space: SearchSpace, trialId: string, seed: number): TrialResult {
  if (p.job?.evaluator !== "supernet") return resultFor(p, trialId, null);
  const rng = new Rng(seed);
  const derived = [space.sample(rng), space.sample(rng), space.sample(rng)];
  return { trialId, kind: p.kind, architecture: p.architecture, status: "completed", objective: null, score: null, metrics: { derived }, parentId: null };
}

/** Like `drive`, but jobs get `jobResult` (a completed supernet) instead of failing. */
export async function driveWithJobs(strategy: Strategy, space: SearchSpace, o: DriveOptions, prefix: string): Promise<Proposal[]> {
  const rng = new Rng(o.orderSeed);
  const all: Proposal[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const proposals = await strategy.ask(o.perRound);
    const results = proposals.map((p, i) => {
      const id = `${prefix}-${all.length + i}`;
      if (!isTrial(p)) return jobResult(p, space, id, o.orderSeed * 1000 + all.length + i);
      return resultFor(p, id, rng.next() < (o.failRate ?? 0) ? null : objective(space, p.architecture));
    });
    all.push(...proposals);
    await strategy.tell(rng.shuffle(results));
  }
  return all;
}

/** The same JSON object with one (top-level) field replaced. */
export function withField(state: JsonValue, key: string, value: JsonValue): JsonValue {
  return { ...(state as Record<string, JsonValue>), [key]: value };
}

/** A JSON value of another type than `value` (what a corrupt or foreign state holds where `value` was expected). */
export function wrongType(value: JsonValue): JsonValue {
  if (typeof value === "string") return 42;
  if (value === null) return true;
  return "not-what-was-stored";
}
