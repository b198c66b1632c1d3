/**
 * Every search space must pass this suite: each built-in space of SEARCH_SPACES_DIR (what the API offers) and the
 * small spaces of the tests, which hold the hard parts of the space language (constraints, integer grids, repeats
 * with their own constraints, `when` conditions). The contract is src/spaces/space.ts: seeded sampling, valid
 * samples, single-decision mutation, canonical forms and hashes, size, and validation that names where it fails.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Architecture, DecisionValue, LeafDecision } from "../../src/spaces/definition.js";
import { SearchSpace, SpaceError, stableStringify } from "../../src/spaces/space.js";
import { builtInSpaces, testSpaces } from "./helpers.js";

const BUILT_IN = builtInSpaces();
const SPACES = [...BUILT_IN, ...testSpaces()];

type Item = Record<string, DecisionValue>;

/** A value that is none of a decision's options: off the grid or out of range for integers, unknown for categoricals. */
function outOfRange(d: LeafDecision): DecisionValue {
  return d.type === "integer" ? d.max + d.step : `not-a-${d.name}`;
}

/** The same architecture with its keys (and its items' keys) in reverse order. */
function reordered(arch: Architecture): Architecture {
  const out: Architecture = {};
  for (const key of Object.keys(arch).reverse()) {
    const v = arch[key]!;
    out[key] = Array.isArray(v) ? v.map((item) => Object.fromEntries(Object.entries(item).reverse())) : v;
  }
  return out;
}

/** The architecture with a value for every decision that is inactive in it (which the canonical form drops). */
function withInactive(space: SearchSpace, arch: Architecture): { noisy: Architecture; added: string[] } {
  const noisy: Architecture = structuredClone(arch);
  const added: string[] = [];
  for (const d of space.definition.decisions) {
    if (d.type === "repeat") {
      const items = (noisy[d.name] ?? []) as Item[];
      items.forEach((item, i) => {
        for (const leaf of d.decisions) {
          if (leaf.name in item) continue;
          item[leaf.name] = leaf.type === "categorical" ? leaf.values[0]! : leaf.min;
          added.push(`${d.name}[${i}].${leaf.name}`);
        }
      });
    } else if (!(d.name in noisy)) {
      noisy[d.name] = d.type === "categorical" ? d.values[0]! : d.min;
      added.push(d.name);
    }
  }
  return { noisy, added };
}

/** The active decisions of an architecture, by path. */
const valuesOf = (space: SearchSpace, arch: Architecture) => new Map(space.slots(arch).map((s) => [s.path, s.value]));

it("refuses to mutate an architecture where no decision has a choice, with a SpaceError", () => {
  const fixed = new SearchSpace({ id: "fixed", version: 1, family: "test", decisions: [{ name: "x", type: "categorical", values: ["only"] }] });
  expect(() => fixed.mutate({ x: "only" }, new Rng(1))).toThrow(SpaceError);
  expect(fixed.size()).toBe(1);
});

it("the suite covers every space of SEARCH_SPACES_DIR", () => {
  expect(BUILT_IN.map((s) => s.id).sort()).toEqual(expect.arrayContaining(["flow-2d", "flow-mnist", "nasbench201", "transformer-lm"]));
  expect(new Set(SPACES.map((s) => s.id)).size).toBe(SPACES.length);
});

describe.each(SPACES.map((s) => [s.id, s] as const))("space %s (conformance)", (_id, space) => {
  it("samples deterministically for a seed, and differently for another seed", () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 20 }, () => space.sample(rng));
    };
    const a = draw(1);
    expect(draw(1)).toEqual(a);
    if (space.size() > 1) expect(draw(2)).not.toEqual(a);
  });

  it("samples valid architectures: options, constraints and `when` conditions respected", () => {
    const rng = new Rng(3);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const arch = space.sample(rng);
      expect(space.validate(arch)).toEqual([]);
      expect(space.isValid(arch)).toBe(true);
      // Exactly the active decisions: every one present, no inactive one (its `when` false) carried along.
      expect(JSON.stringify(space.canonical(arch))).toBe(JSON.stringify(arch));
      expect(JSON.parse(JSON.stringify(arch))).toEqual(arch); // plain JSON
      seen.add(space.hash(arch));
    }
    expect(seen.size).toBeLessThanOrEqual(space.size());
    if (space.size() >= 300) expect(seen.size).toBeGreaterThan(1);
  });

  it("mutates into a valid architecture that differs in exactly the one decision it names", () => {
    const rng = new Rng(4);
    for (let i = 0; i < 200; i++) {
      const parent = space.sample(rng);
      const { architecture: child, path } = space.mutate(parent, rng);
      expect(space.validate(child)).toEqual([]);
      expect(space.hash(child)).not.toBe(space.hash(parent));
      const before = valuesOf(space, parent);
      const after = valuesOf(space, child);
      expect(before.has(path) && after.has(path), path).toBe(true);
      expect(after.get(path)).not.toEqual(before.get(path));
      // Every other decision active in both keeps its value; the rest became active or inactive by the change.
      for (const [p, v] of after) if (p !== path && before.has(p)) expect(v, p).toEqual(before.get(p));
    }
    // The parent is not modified.
    const parent = space.sample(new Rng(5));
    const copy = structuredClone(parent);
    space.mutate(parent, new Rng(6));
    expect(parent).toEqual(copy);
  });

  it("mutates deterministically for a seed", () => {
    const parent = space.sample(new Rng(7));
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 10 }, () => space.mutate(parent, rng));
    };
    expect(run(8)).toEqual(run(8));
  });

  it("has an idempotent canonical form and a hash stable under key order, equal for canonical-equal architectures", () => {
    const rng = new Rng(9);
    const hashes = new Map<string, string>();
    for (let i = 0; i < 100; i++) {
      const arch = space.sample(rng);
      const canon = space.canonical(arch);
      expect(JSON.stringify(space.canonical(canon))).toBe(JSON.stringify(canon));
      // Key order does not matter: the canonical form has the declaration order, the hash is the same.
      const shuffled = reordered(arch);
      expect(JSON.stringify(space.canonical(shuffled))).toBe(JSON.stringify(canon));
      expect(space.hash(shuffled)).toBe(space.hash(arch));
      expect(space.hash(structuredClone(arch))).toBe(space.hash(arch));
      // Values of inactive decisions are dropped by the canonical form, so they do not change the hash.
      const { noisy, added } = withInactive(space, arch);
      expect(space.canonical(noisy)).toEqual(canon);
      expect(space.hash(noisy)).toBe(space.hash(arch));
      if (added.length > 0) expect(space.validate(noisy).map((v) => v.path)).toEqual(expect.arrayContaining([added[0]]));
      expect(space.hash(arch)).toMatch(/^[0-9a-f]{32}$/);
      // Different architectures, different hashes.
      const key = stableStringify(canon);
      const earlier = [...hashes].find(([, h]) => h === space.hash(arch));
      if (earlier) expect(earlier[0]).toBe(key);
      hashes.set(key, space.hash(arch));
    }
  });

  it("has a positive, finite size", () => {
    expect(space.size()).toBeGreaterThan(0);
    expect(Number.isFinite(space.size())).toBe(true);
  });

  it("rejects a missing decision, a value out of range and an unknown decision, naming the path", () => {
    const rng = new Rng(10);
    const arch = space.sample(rng);
    const slots = space.slots(arch);
    for (const slot of slots) {
      // Missing.
      const missing = structuredClone(arch);
      if (slot.index === undefined) delete missing[slot.path];
      else delete (missing[slot.path.split("[")[0]!] as Item[])[slot.index]![slot.decision.name];
      if (slot.decision.type === "categorical" && slot.decision.default !== undefined) {
        // A decision with a default may be omitted: the architecture is then the one with the default.
        const withDefault = structuredClone(arch);
        if (slot.index === undefined) withDefault[slot.path] = slot.decision.default;
        else (withDefault[slot.path.split("[")[0]!] as Item[])[slot.index]![slot.decision.name] = slot.decision.default;
        expect(space.validate(missing), `missing ${slot.path}`).toEqual(space.validate(withDefault));
      } else {
        expect(space.validate(missing).map((v) => v.path), `missing ${slot.path}`).toContain(slot.path);
        expect(space.isValid(missing)).toBe(false);
      }
      // Out of range (or off the grid, or of another type).
      for (const bad of [outOfRange(slot.decision), slot.decision.type === "integer" ? String(slot.options[0]) : 12345.5]) {
        const wrong = structuredClone(arch);
        if (slot.index === undefined) wrong[slot.path] = bad;
        else (wrong[slot.path.split("[")[0]!] as Item[])[slot.index]![slot.decision.name] = bad;
        const issues = space.validate(wrong);
        expect(issues.map((v) => v.path), `${slot.path} = ${JSON.stringify(bad)}`).toContain(slot.path);
        expect(issues.find((v) => v.path === slot.path)!.message.length).toBeGreaterThan(0);
      }
    }
    // A decision the space does not have.
    expect(space.validate({ ...arch, no_such_decision: 1 }).map((v) => v.path)).toContain("no_such_decision");
    // Not an object at all.
    for (const notAnObject of [null, [], "arch", 42]) expect(space.validate(notAnObject).length).toBeGreaterThan(0);
    expect(space.validate({}).length).toBeGreaterThan(0);
  });

  it("rejects a repeat of the wrong length or of items that are not objects, naming the repeat", () => {
    const repeats = space.definition.decisions.filter((d) => d.type === "repeat");
    const rng = new Rng(11);
    for (const r of repeats) {
      const arch = space.sample(rng);
      const items = arch[r.name] as Item[];
      const longer = { ...arch, [r.name]: [...items, ...items, items[0] ?? {}] };
      expect(space.validate(longer).map((v) => v.path), "too many items").toContain(r.name);
      expect(space.validate({ ...arch, [r.name]: "items" }).map((v) => v.path)).toContain(r.name);
    }
  });

  it("rejects an architecture that violates a constraint (of the space or of a repeat's items)", () => {
    const sources = [...space.definition.constraints, ...space.definition.decisions.flatMap((d) => (d.type === "repeat" ? d.constraints : []))];
    if (sources.length === 0) return; // nothing to violate
    // Architectures built without rejection, valid option by option: some break a constraint.
    const rng = new Rng(12);
    let violations = 0;
    for (let i = 0; i < 2000 && violations < 20; i++) {
      const arch = space.build((slot) => rng.pick(slot.options));
      const issues = space.validate(arch);
      if (issues.length === 0) continue;
      violations += 1;
      for (const issue of issues) {
        expect(issue.message).toMatch(/violates constraint/);
        expect(typeof issue.path).toBe("string");
        expect(sources.some((c) => issue.message.includes(c)), issue.message).toBe(true);
      }
      expect(space.isValid(arch)).toBe(false);
    }
    expect(violations, "no architecture built without rejection broke a constraint").toBeGreaterThan(0);
  });
});
