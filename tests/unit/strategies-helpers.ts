/**
 * Shared pieces of the strategy tests: a small space with constraints, repeats and a conditional decision, a
 * deterministic objective, and a driver that imitates the orchestrator (asks, then tells the results back in a
 * shuffled order, some of them failed).
 */
import path from "node:path";
import { createHash } from "node:crypto";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { Rng } from "../../src/core/rng.js";
import type { Architecture } from "../../src/spaces/definition.js";
import type { Proposal, Strategy, TrialResult } from "../../src/strategies/strategy.js";
import { ROOT } from "../setup/env.js";

export const nb201 = SpaceRegistry.fromDirectory(path.join(ROOT, "search-spaces")).get("nasbench201")!;

/** Constraints, an integer decision, per-layer repeats and a `when`: the hard parts of the space language. */
export const constrained = new SearchSpace({
  id: "constrained",
  version: 1,
  family: "test",
  decisions: [
    { name: "d_model", type: "integer", min: 16, max: 64, step: 16 },
    { name: "n_heads", type: "categorical", values: [1, 2, 3, 4] },
    { name: "n_layers", type: "integer", min: 1, max: 3 },
    {
      name: "layers",
      type: "repeat",
      count: "n_layers",
      decisions: [
        { name: "attention", type: "categorical", values: ["full", "local"] },
        { name: "window", type: "integer", min: 2, max: 8, step: 2, when: "attention == 'local'" },
      ],
    },
  ],
  constraints: ["d_model % n_heads == 0", "d_model / n_heads >= 8"],
});

/** A deterministic pseudo-objective of an architecture in [0, 100). */
export function objective(space: SearchSpace, arch: Architecture): number {
  return createHash("sha256").update(space.hash(arch)).digest().readUInt32LE(0) / 2 ** 32 * 100;
}

/** An ordinary trial (not a one-shot job such as DARTS' supernet, which has no score of its own here). */
export const isTrial = (p: Proposal) => (p.kind ?? "trial") === "trial";

/**
 * The result a test reports for a proposal: ordinary trials get `score` (null = failed); a one-shot job (kind
 * "supernet") is reported failed, since these tests run no trainer: a strategy must cope with that too.
 */
export function resultFor(p: Proposal, trialId: string, score: number | null): TrialResult {
  const trial = isTrial(p);
  const s = trial ? score : null;
  return {
    trialId,
    ...(trial ? {} : { kind: p.kind }),
    architecture: p.architecture,
    status: s === null ? "failed" : "completed",
    objective: s,
    score: s,
    metrics: {},
    parentId: p.parentId ?? null,
  };
}

export interface DriveOptions {
  rounds: number;
  perRound: number;
  /** Seed of the order in which results come back and of which ones fail. */
  orderSeed: number;
  /** Fraction of trials that fail (score null). */
  failRate?: number;
}

let nextId = 0;

/**
 * Asks `perRound` architectures per round and tells them back shuffled; returns every proposal in order. Trial ids
 * derive from the proposal's position so that two drives of equal strategies see equal ids.
 */
export async function drive(strategy: Strategy, space: SearchSpace, o: DriveOptions, prefix = `d${nextId++}`): Promise<Proposal[]> {
  const rng = new Rng(o.orderSeed);
  const all: Proposal[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const proposals = await strategy.ask(o.perRound);
    const results: TrialResult[] = proposals.map((p, i) => {
      const failed = rng.next() < (o.failRate ?? 0);
      return resultFor(p, `${prefix}-${all.length + i}`, failed || !isTrial(p) ? null : objective(space, p.architecture));
    });
    all.push(...proposals);
    await strategy.tell(rng.shuffle(results));
  }
  return all;
}

export const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
