/**
 * A loaded search space: validation, uniform sampling, single-decision mutation and canonical hashing of
 * architectures. Every strategy goes through these operations, so they are the only place that knows the format.
 *
 * Architectures are built decision by decision through `build(choose)`: `choose` gets each active *slot* (a
 * decision at a position, with its options) in a fixed order. Uniform sampling, mutation and sequential policies
 * (the REINFORCE controller) are all choosers.
 */
import { createHash } from "node:crypto";
import { parseExpression, identifiersOf, type Expression, type Scope } from "./expression.js";
import {
  spaceDefinitionSchema,
  type Architecture,
  type DecisionValue,
  type LeafDecision,
  type RepeatDecision,
  type SpaceDefinition,
} from "./definition.js";
import type { Rng } from "../core/rng.js";

/** One decision to make while building an architecture. */
export interface Slot {
  /** Where the value goes: `n_heads` or `layers[2].attention`. */
  path: string;
  decision: LeafDecision;
  /** Position of the item for a repeated decision, else undefined. */
  index?: number;
  options: readonly DecisionValue[];
}

export type Chooser = (slot: Slot) => DecisionValue;

export interface ValidationIssue {
  path: string;
  message: string;
}

/** A value that cannot be sampled, mutated or validated because the space's constraints exclude it. */
export class SpaceError extends Error {
  override name = "SpaceError";
}

const MAX_REJECTIONS = 1000;

interface CompiledLeaf {
  decision: LeafDecision;
  options: DecisionValue[];
  when?: Expression;
}

export class SearchSpace {
  readonly id: string;
  readonly version: number | string;
  readonly family: string;
  readonly definition: SpaceDefinition;
  private readonly leaves = new Map<string, CompiledLeaf>();
  private readonly repeats = new Map<string, { decision: RepeatDecision; leaves: CompiledLeaf[]; constraints: Expression[] }>();
  private readonly constraints: Array<{ source: string; fn: Expression }>;

  constructor(input: unknown) {
    const def = spaceDefinitionSchema.parse(input);
    this.definition = def;
    this.id = def.id;
    this.version = def.version;
    this.family = def.family;
    const names = new Set<string>();
    const compileLeaf = (d: LeafDecision): CompiledLeaf => ({
      decision: d,
      options: d.type === "categorical" ? [...d.values] : range(d.min, d.max, d.step),
      when: d.when ? parseExpression(d.when) : undefined,
    });
    for (const d of def.decisions) {
      if (names.has(d.name)) throw new SpaceError(`space ${def.id}: duplicate decision '${d.name}'`);
      names.add(d.name);
      if (d.type === "repeat") {
        const count = def.decisions.find((c) => c.name === d.count);
        if (!count || count.type !== "integer" || def.decisions.indexOf(count) > def.decisions.indexOf(d)) {
          throw new SpaceError(`space ${def.id}: repeat '${d.name}' needs an earlier integer decision '${d.count}'`);
        }
        this.repeats.set(d.name, { decision: d, leaves: d.decisions.map(compileLeaf), constraints: d.constraints.map((c) => parseExpression(c)) });
      } else {
        this.leaves.set(d.name, compileLeaf(d));
      }
    }
    this.constraints = def.constraints.map((source) => {
      const unknown = identifiersOf(source).filter((n) => !names.has(n));
      if (unknown.length) throw new SpaceError(`space ${def.id}: constraint '${source}' names unknown decision(s) ${unknown.join(", ")}`);
      return { source, fn: parseExpression(source) };
    });
  }

  /** Builds an architecture by asking `choose` for every active slot, in declaration order. */
  build(choose: Chooser): Architecture {
    const arch: Architecture = {};
    for (const d of this.definition.decisions) {
      if (d.type === "repeat") {
        const rep = this.repeats.get(d.name)!;
        const count = arch[d.count] as number;
        const items: Array<Record<string, DecisionValue>> = [];
        for (let i = 0; i < count; i++) {
          const item: Record<string, DecisionValue> = {};
          const scope = { ...flatScope(arch), ...item };
          for (const leaf of rep.leaves) {
            if (leaf.when && !leaf.when({ ...scope, ...item })) continue;
            item[leaf.decision.name] = choose({ path: `${d.name}[${i}].${leaf.decision.name}`, decision: leaf.decision, index: i, options: leaf.options });
          }
          items.push(item);
        }
        arch[d.name] = items;
      } else {
        const leaf = this.leaves.get(d.name)!;
        if (leaf.when && !leaf.when(flatScope(arch))) continue;
        arch[d.name] = choose({ path: d.name, decision: d, options: leaf.options });
      }
    }
    return arch;
  }

  /** All active slots of an architecture with their current values, in build order. */
  slots(arch: Architecture): Array<Slot & { value: DecisionValue }> {
    const out: Array<Slot & { value: DecisionValue }> = [];
    this.build((slot) => {
      const value = valueAt(arch, slot) ?? defaultOf(slot) ?? slot.options[0]!;
      out.push({ ...slot, value });
      return value;
    });
    return out;
  }

  /** Constraint violations and malformed values of an architecture; empty when it is valid. */
  validate(input: unknown): ValidationIssue[] {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return [{ path: "", message: "an architecture is a JSON object" }];
    const arch = input as Architecture;
    const issues: ValidationIssue[] = [];
    const seen = new Set<string>();
    this.build((slot) => {
      const value = valueAt(arch, slot) ?? defaultOf(slot);
      seen.add(slot.path);
      if (value === undefined) issues.push({ path: slot.path, message: "missing" });
      else if (!slot.options.includes(value)) issues.push({ path: slot.path, message: `must be one of ${describeOptions(slot)}, got ${JSON.stringify(value)}` });
      return value ?? slot.options[0]!;
    });
    for (const key of Object.keys(arch)) {
      if (this.repeats.has(key)) {
        const items = arch[key];
        if (!Array.isArray(items)) issues.push({ path: key, message: "must be an array" });
        else {
          const expected = arch[this.repeats.get(key)!.decision.count];
          if (items.length !== expected) issues.push({ path: key, message: `must have ${String(expected)} items` });
          items.forEach((item, i) => {
            for (const k of Object.keys(item ?? {})) if (!seen.has(`${key}[${i}].${k}`)) issues.push({ path: `${key}[${i}].${k}`, message: "not a decision of this space here" });
          });
        }
      } else if (!seen.has(key)) issues.push({ path: key, message: "not a decision of this space (or inactive here)" });
    }
    if (issues.length === 0) for (const c of this.violations(arch)) issues.push({ path: "", message: `violates constraint '${c}'` });
    return issues;
  }

  isValid(arch: unknown): arch is Architecture {
    return this.validate(arch).length === 0;
  }

  /** Uniform sampling (each decision uniformly, rejecting architectures that break a constraint). */
  sample(rng: Rng): Architecture {
    for (let i = 0; i < MAX_REJECTIONS; i++) {
      const arch = this.build((slot) => rng.pick(slot.options));
      if (this.violations(arch).length === 0) return arch;
    }
    throw new SpaceError(`space ${this.id}: no valid architecture in ${MAX_REJECTIONS} samples; are its constraints satisfiable?`);
  }

  /**
   * Changes exactly one active decision of `parent` to a different value chosen uniformly, keeping the others.
   * Decisions that become active because of the change (a layer added, a conditional decision switched on) are
   * sampled; those that become inactive are dropped. Retries until the constraints hold.
   */
  mutate(parent: Architecture, rng: Rng): { architecture: Architecture; path: string } {
    const slots = this.slots(parent).filter((s) => s.options.length > 1);
    if (slots.length === 0) throw new SpaceError(`space ${this.id}: nothing to mutate`);
    for (let i = 0; i < MAX_REJECTIONS; i++) {
      const target = rng.pick(slots);
      const others = target.options.filter((v) => v !== target.value);
      const newValue = rng.pick(others);
      const child = this.build((slot) => {
        if (slot.path === target.path) return newValue;
        const old = valueAt(parent, slot) ?? defaultOf(slot);
        return old !== undefined && slot.options.includes(old) ? old : rng.pick(slot.options);
      });
      if (this.violations(child).length === 0) return { architecture: child, path: target.path };
    }
    throw new SpaceError(`space ${this.id}: no valid mutation found in ${MAX_REJECTIONS} tries`);
  }

  /** Canonical form: active decisions only, in declaration order. */
  canonical(arch: Architecture): Architecture {
    return this.build((slot) => (valueAt(arch, slot) ?? defaultOf(slot))!);
  }

  /** The same architecture gets the same hash in every search (keys sorted, inactive values dropped). */
  hash(arch: Architecture): string {
    return createHash("sha256").update(`${this.id}:${stableStringify(this.canonical(arch))}`).digest("hex").slice(0, 32);
  }

  /** Number of architectures ignoring constraints (an upper bound, used to detect exhaustion). */
  size(): number {
    let total = 1;
    for (const d of this.definition.decisions) {
      if (d.type === "repeat") {
        const count = this.leaves.get(d.count)!.options as number[];
        const per = this.repeats.get(d.name)!.leaves.reduce((p, l) => p * l.options.length, 1);
        total *= count.reduce((s, n) => s + per ** n, 0) / count.length;
      } else total *= this.leaves.get(d.name)!.options.length;
    }
    return total;
  }

  private violations(arch: Architecture): string[] {
    const scope = flatScope(arch);
    const out = this.constraints.filter((c) => !c.fn(scope)).map((c) => c.source);
    for (const [name, rep] of this.repeats) {
      const items = (arch[name] ?? []) as Array<Record<string, DecisionValue>>;
      items.forEach((item, i) => {
        rep.constraints.forEach((fn, k) => {
          if (!fn({ ...scope, ...item })) out.push(`${name}[${i}]: ${rep.decision.constraints[k]}`);
        });
      });
    }
    return out;
  }
}

function valueAt(arch: Architecture, slot: Slot): DecisionValue | undefined {
  if (slot.index === undefined) return arch[slot.path] as DecisionValue | undefined;
  const [repeatName] = slot.path.split("[");
  const items = arch[repeatName!];
  return Array.isArray(items) ? items[slot.index]?.[slot.decision.name] : undefined;
}

/** A categorical decision's declared `default`: the value of an architecture that omits it. */
function defaultOf(slot: Slot): DecisionValue | undefined {
  return slot.decision.type === "categorical" ? slot.decision.default : undefined;
}

function flatScope(arch: Architecture): Scope {
  const scope: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(arch)) if (!Array.isArray(v)) scope[k] = v;
  return scope;
}

function range(min: number, max: number, step: number): number[] {
  const out: number[] = [];
  for (let v = min; v <= max; v += step) out.push(v);
  return out;
}

function describeOptions(slot: Slot): string {
  const d = slot.decision;
  if (d.type === "integer") return `an integer in [${d.min}, ${d.max}]${d.step > 1 ? ` in steps of ${d.step}` : ""}`;
  return d.values.map((v) => JSON.stringify(v)).join(", ");
}

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
