/**
 * Search spaces written by users (POST /v1/search-spaces), checked against the catalogue before they are stored:
 * the space language itself (decision kinds and their fields, names, `when` and constraint expressions), then the
 * family that builds it — every decision must be a field of the family's architecture with values that are block
 * kinds it knows (`decisions[3].values[1]: 'flash' is not …`), the fields the family needs must be decided, and
 * sampled architectures must build — and the training settings it searches (`train.<option>` decisions) against the
 * train evaluator's options. Every problem names its place in the space (`decisions[3].values`). Light: zod and the
 * tfjs-free architecture files only.
 *
 * A user's space is immutable and versioned by content: its version is the hash of the canonical JSON of its
 * definition (keys sorted, defaults filled in), so the same space posted twice is the same version.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { Rng } from "../core/rng.js";
import { flowArchitectureSchema } from "../models/flows/config.js";
import { layerSchema, transformerArchitectureSchema } from "../models/transformer/config.js";
import { categoricalSchema, integerSchema, spaceDefinitionSchema, type SpaceDefinition } from "../spaces/definition.js";
import { identifiersOf, parseExpression } from "../spaces/expression.js";
import { NB201_EDGES, NB201_OPS } from "../spaces/nasbench201.js";
import { SearchSpace, stableStringify } from "../spaces/space.js";
import { modelArchitecture, trainingOption } from "../spaces/training-decisions.js";
import { TRAIN_FAMILIES } from "./evaluators.js";

export interface SpaceIssue {
  /** Where in the posted space: `decisions[3].values`, `constraints[0]`, `name`; "(body)" for the whole. */
  path: string;
  message: string;
}

export type UserSpaceCheck = { ok: true; space: SearchSpace; definition: SpaceDefinition; version: string; evaluators: string[] } | { ok: false; issues: SpaceIssue[] };

/** The evaluators that can score spaces of a family (the catalogue's compatibility rules, src/catalogue/evaluators.ts). */
export function evaluatorsForFamily(family: string): string[] {
  if (family === "nasbench201") return ["benchmark"];
  return TRAIN_FAMILIES[family] ? ["train"] : [];
}

export const USER_SPACE_NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;
const TOP_KEYS = ["name", "id", "family", "description", "decisions", "constraints"];
const KEYS: Record<string, string[]> = {
  categorical: ["name", "type", "description", "when", "values"],
  integer: ["name", "type", "description", "when", "min", "max", "step"],
  repeat: ["name", "type", "description", "count", "decisions", "constraints"],
};
const MAX_DECISIONS = 200;
const MAX_VALUES = 1000;
/** Architectures sampled from a posted space to check that its family builds them. */
const SAMPLED = 50;

/**
 * The training settings a space may search, by option: the train evaluator's options of the family, `steps` for the
 * budget. Options that pick the data (task, dataset) or shape reporting (evalEvery, …) are the search's.
 */
export const TRAINING_DECISION_OPTIONS = ["learningRate", "minLearningRate", "batchSize", "warmupSteps", "weightDecay", "beta2", "clipNorm", "contextLength", "schedule", "steps"] as const;
const stepsSchema = z.number().int().min(1).max(1_000_000);

/** The schema of one option of a family's trainer, without its default (undefined if the family has no such option). */
function trainOptionSchema(family: string, option: string): z.ZodType | undefined {
  if (option === "steps") return stepsSchema;
  const shape = TRAIN_FAMILIES[family]?.schema.shape as Record<string, z.ZodType> | undefined;
  let schema = shape?.[option];
  while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
  return schema;
}

/** A family's architecture fields: their schemas, which are needed, and the repeat (per-layer) fields. */
interface FamilyFields {
  fields: Record<string, z.ZodType>;
  required: string[];
  repeat?: { name: string; count: string; fields: Record<string, z.ZodType>; required: string[] };
}

function objectFields(schema: z.ZodObject): { fields: Record<string, z.ZodType>; required: string[] } {
  const fields: Record<string, z.ZodType> = {};
  const required: string[] = [];
  for (const [k, v] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    fields[k] = v;
    if (!(v instanceof z.ZodOptional || v instanceof z.ZodDefault)) required.push(k);
  }
  return { fields, required };
}

function familyFields(family: string): FamilyFields | undefined {
  if (family === "transformer") {
    const top = objectFields(transformerArchitectureSchema as unknown as z.ZodObject);
    delete top.fields.layers;
    return { fields: top.fields, required: top.required.filter((r) => r !== "layers"), repeat: { name: "layers", count: "n_layers", ...objectFields(layerSchema) } };
  }
  if (family === "flow") return objectFields(flowArchitectureSchema);
  if (family === "nasbench201") {
    const op = z.enum(NB201_OPS);
    return { fields: Object.fromEntries(NB201_EDGES.map((e) => [e, op])), required: [...NB201_EDGES] };
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const zodPath = (path: ReadonlyArray<PropertyKey>) => path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
const optionsOf = (d: { type: string; values?: unknown[]; min?: number; max?: number; step?: number }): unknown[] => {
  if (d.type === "categorical") return d.values ?? [];
  const out: number[] = [];
  for (let v = d.min!; v <= d.max! && out.length <= MAX_VALUES; v += d.step ?? 1) out.push(v);
  return out;
};

/** Checks a leaf decision (categorical or integer) of the space language; returns its parsed form or records issues. */
function parseLeaf(input: unknown, at: string, issues: SpaceIssue[]): z.infer<typeof categoricalSchema> | z.infer<typeof integerSchema> | undefined {
  if (!isObject(input)) return void issues.push({ path: at, message: "a decision is an object with a name and a type" });
  const type = input.type;
  if (type !== "categorical" && type !== "integer") {
    issues.push({ path: `${at}.type`, message: `must be categorical, integer${at.includes("].decisions[") ? "" : " or repeat"}, not ${JSON.stringify(type)}` });
    return undefined;
  }
  for (const k of Object.keys(input)) if (!KEYS[type]!.includes(k)) issues.push({ path: `${at}.${k}`, message: `unknown field of a ${type} decision (it has ${KEYS[type]!.join(", ")})` });
  const parsed = (type === "categorical" ? categoricalSchema : integerSchema).safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: `${at}${zodPath(i.path)}`, message: i.message });
    return undefined;
  }
  if (parsed.data.type === "integer" && (parsed.data.max - parsed.data.min) / parsed.data.step >= MAX_VALUES) {
    issues.push({ path: `${at}.max`, message: `an integer decision has at most ${MAX_VALUES} values` });
  }
  if (parsed.data.type === "categorical" && parsed.data.values.length > MAX_VALUES) issues.push({ path: `${at}.values`, message: `at most ${MAX_VALUES} values` });
  if (parsed.data.type === "categorical" && new Set(parsed.data.values).size !== parsed.data.values.length) issues.push({ path: `${at}.values`, message: "values must be distinct" });
  return parsed.data;
}

function checkExpression(source: string, at: string, known: ReadonlySet<string>, issues: SpaceIssue[]): void {
  try {
    parseExpression(source);
  } catch (err) {
    return void issues.push({ path: at, message: `not an expression: ${(err as Error).message}` });
  }
  const unknown = identifiersOf(source).filter((n) => !known.has(n));
  if (unknown.length) issues.push({ path: at, message: `names ${unknown.map((n) => `'${n}'`).join(", ")}, not a decision declared before it` });
}

/** Checks the values of a decision against the schema of the family's field (or the trainer's option) it sets. */
function checkValues(values: unknown[], schema: z.ZodType, at: string, describe: string, issues: SpaceIssue[]): void {
  for (const [k, v] of values.entries()) {
    const r = schema.safeParse(v);
    if (!r.success) {
      const allowed = schema instanceof z.ZodEnum ? ` (${(schema.options as string[]).join(", ")})` : "";
      const at2 = at.endsWith(".values") ? `${at}[${k}]` : at;
      issues.push({ path: at2, message: `${JSON.stringify(v)} is not ${describe}${allowed}: ${r.error.issues[0]?.message ?? "invalid"}` });
      if (!at.endsWith(".values")) return;
    }
  }
}

/**
 * Checks a posted space. `builtins`: names a user's space may not take. Returns the space (with its definition as
 * stored and its version) or every problem found, each with its path.
 */
export function checkUserSpace(input: unknown, builtins: ReadonlySet<string>): UserSpaceCheck {
  const issues: SpaceIssue[] = [];
  const fail = () => ({ ok: false as const, issues });
  if (!isObject(input)) return { ok: false, issues: [{ path: "(body)", message: "a search space is a JSON (or YAML) object" }] };
  for (const k of Object.keys(input)) {
    if (k === "version") issues.push({ path: "version", message: "the version of a user's space is the hash of its content, given by the service: leave it out" });
    // An empty key is named by the whole body, as the API names every path that has no segments.
    else if (!TOP_KEYS.includes(k)) issues.push({ path: k || "(body)", message: `unknown field ${JSON.stringify(k)} (a space has ${TOP_KEYS.join(", ")})` });
  }
  const nameKey = "name" in input ? "name" : "id";
  const name = input.name ?? input.id;
  if ("name" in input && "id" in input) issues.push({ path: "id", message: "give the space's name once, as `name` (or `id`)" });
  if (typeof name !== "string" || !USER_SPACE_NAME.test(name)) issues.push({ path: nameKey, message: "a space's name is 1–100 lower-case letters, digits and dashes, starting with a letter or digit" });
  else if (builtins.has(name)) issues.push({ path: nameKey, message: `'${name}' is a built-in space; choose another name` });
  const family = input.family;
  const fields = typeof family === "string" ? familyFields(family) : undefined;
  if (!fields) issues.push({ path: "family", message: `must be one of transformer, flow, nasbench201 (the families the evaluators build), not ${JSON.stringify(family)}` });
  if (input.description !== undefined && (typeof input.description !== "string" || input.description.length > 10_000)) issues.push({ path: "description", message: "a string of at most 10,000 characters" });
  if (!Array.isArray(input.decisions) || input.decisions.length === 0) {
    issues.push({ path: "decisions", message: "a non-empty list of decisions" });
    return fail();
  }
  if (input.decisions.length > MAX_DECISIONS) return { ok: false, issues: [...issues, { path: "decisions", message: `at most ${MAX_DECISIONS} decisions` }] };
  const constraints = input.constraints ?? [];
  if (!Array.isArray(constraints) || constraints.some((c) => typeof c !== "string")) issues.push({ path: "constraints", message: "a list of expressions (strings)" });

  // The space language, decision by decision.
  const declared = new Set<string>();
  const byName = new Map<string, { index: number; type: string; options: unknown[] }>();
  for (const [i, d] of input.decisions.entries()) {
    const at = `decisions[${i}]`;
    if (isObject(d) && d.type === "repeat") {
      for (const k of Object.keys(d)) if (!KEYS.repeat!.includes(k)) issues.push({ path: `${at}.${k}`, message: `unknown field of a repeat decision (it has ${KEYS.repeat!.join(", ")})` });
      const nameOk = typeof d.name === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.name);
      if (!nameOk) issues.push({ path: `${at}.name`, message: "a decision name is an identifier" });
      const count = byName.get(String(d.count));
      if (typeof d.count !== "string" || !count || count.type !== "integer") issues.push({ path: `${at}.count`, message: `must name an earlier integer decision (the number of items), not ${JSON.stringify(d.count)}` });
      if (!Array.isArray(d.decisions) || d.decisions.length === 0) issues.push({ path: `${at}.decisions`, message: "a non-empty list of per-item decisions" });
      const inner = new Set(declared);
      const itemNames = new Set<string>();
      for (const [j, leaf] of (Array.isArray(d.decisions) ? d.decisions : []).entries()) {
        const parsed = parseLeaf(leaf, `${at}.decisions[${j}]`, issues);
        if (!parsed) continue;
        if (itemNames.has(parsed.name)) issues.push({ path: `${at}.decisions[${j}].name`, message: `duplicate decision '${parsed.name}' in this repeat` });
        if (parsed.when) checkExpression(parsed.when, `${at}.decisions[${j}].when`, inner, issues);
        itemNames.add(parsed.name);
        inner.add(parsed.name);
      }
      if (d.constraints !== undefined) {
        if (!Array.isArray(d.constraints)) issues.push({ path: `${at}.constraints`, message: "a list of expressions (strings)" });
        else {
          for (const [k, c] of d.constraints.entries()) {
            if (typeof c === "string") checkExpression(c, `${at}.constraints[${k}]`, inner, issues);
            else issues.push({ path: `${at}.constraints[${k}]`, message: "an expression (a string)" });
          }
        }
      }
      if (nameOk) {
        if (declared.has(d.name as string)) issues.push({ path: `${at}.name`, message: `duplicate decision '${String(d.name)}'` });
        declared.add(d.name as string);
        byName.set(d.name as string, { index: i, type: "repeat", options: [] });
      }
      continue;
    }
    const parsed = parseLeaf(d, at, issues);
    if (!parsed) continue;
    if (declared.has(parsed.name)) issues.push({ path: `${at}.name`, message: `duplicate decision '${parsed.name}'` });
    if (parsed.when) checkExpression(parsed.when, `${at}.when`, declared, issues);
    declared.add(parsed.name);
    byName.set(parsed.name, { index: i, type: parsed.type, options: optionsOf(parsed) });
  }
  if (Array.isArray(constraints)) for (const [k, c] of constraints.entries()) if (typeof c === "string") checkExpression(c, `constraints[${k}]`, declared, issues);
  if (issues.length || !fields) return fail();

  // The family: every decision is a field of its architecture (or a training setting), with values it knows.
  const fam = family as string;
  for (const [i, d] of (input.decisions as Array<Record<string, unknown>>).entries()) {
    const at = `decisions[${i}]`;
    const dname = d.name as string;
    const option = trainingOption(dname);
    if (option !== undefined) {
      const schema = TRAINING_DECISION_OPTIONS.includes(option as never) ? trainOptionSchema(fam, option) : undefined;
      if (!TRAIN_FAMILIES[fam]) issues.push({ path: `${at}.name`, message: `training settings are searched for spaces the train evaluator trains (transformer, flow), not '${fam}'` });
      else if (!schema) issues.push({ path: `${at}.name`, message: `'${option}' is not a training setting a space may search for the ${fam} family (${TRAINING_DECISION_OPTIONS.filter((o) => trainOptionSchema(fam, o)).join(", ")})` });
      else checkValues(optionsOf(d as never), schema, d.type === "categorical" ? `${at}.values` : at, `a value of the train evaluator's ${option}`, issues);
      continue;
    }
    if (d.type === "repeat") {
      if (!fields.repeat || dname !== fields.repeat.name) {
        issues.push({ path: `${at}.name`, message: fields.repeat ? `the ${fam} family repeats '${fields.repeat.name}' only` : `the ${fam} family has no repeated blocks` });
        continue;
      }
      if (d.count !== fields.repeat.count) issues.push({ path: `${at}.count`, message: `the ${fam} family has one '${fields.repeat.name}' item per '${fields.repeat.count}'` });
      const items = d.decisions as Array<Record<string, unknown>>;
      for (const [j, leaf] of items.entries()) {
        const schema = fields.repeat.fields[leaf.name as string];
        const at2 = `${at}.decisions[${j}]`;
        if (!schema) issues.push({ path: `${at2}.name`, message: `'${String(leaf.name)}' is not a field of a ${fam} layer (${Object.keys(fields.repeat.fields).join(", ")})` });
        else checkValues(optionsOf(leaf as never), unwrap(schema), leaf.type === "categorical" ? `${at2}.values` : at2, `a value the ${fam} family takes for ${String(leaf.name)}`, issues);
      }
      const names = new Set(items.map((l) => l.name));
      for (const r of fields.repeat.required) if (!names.has(r)) issues.push({ path: `${at}.decisions`, message: `a ${fam} layer needs a decision '${r}'` });
      continue;
    }
    const schema = fields.fields[dname];
    if (!schema) {
      issues.push({ path: `${at}.name`, message: `'${dname}' is not a field of the ${fam} family's architecture (${[...Object.keys(fields.fields), ...(fields.repeat ? [fields.repeat.name] : [])].join(", ")}), nor train.<option>` });
      continue;
    }
    checkValues(optionsOf(d as never), unwrap(schema), d.type === "categorical" ? `${at}.values` : at, `a value the ${fam} family takes for ${dname}`, issues);
  }
  for (const r of [...fields.required, ...(fields.repeat ? [fields.repeat.name] : [])]) {
    if (!byName.has(r)) issues.push({ path: "decisions", message: `the ${fam} family needs a decision '${r}' (a categorical with one value fixes it)` });
  }
  if (issues.length) return fail();

  // The space as the service stores it, and what it builds.
  const { name: _n, id: _i, ...rest } = input;
  const content = spaceDefinitionSchema.omit({ version: true }).safeParse({ ...rest, id: name });
  if (!content.success) return { ok: false, issues: content.error.issues.map((i) => ({ path: zodPath(i.path).replace(/^\./, "") || "(body)", message: i.message })) };
  const version = createHash("sha256").update(stableStringify(content.data)).digest("hex").slice(0, 12);
  const definition = { ...content.data, version } as SpaceDefinition;
  let space: SearchSpace;
  try {
    space = new SearchSpace(definition);
  } catch (err) {
    return { ok: false, issues: [{ path: "(body)", message: (err as Error).message }] };
  }
  const archSchema = fam === "transformer" ? transformerArchitectureSchema : fam === "flow" ? flowArchitectureSchema : undefined;
  const rng = new Rng(1);
  for (let n = 0; n < SAMPLED; n++) {
    let arch;
    try {
      arch = space.sample(rng);
    } catch (err) {
      return { ok: false, issues: [{ path: "constraints", message: (err as Error).message }] };
    }
    const built = archSchema?.safeParse(modelArchitecture(arch));
    if (built && !built.success) {
      const issue = built.error.issues[0]!;
      return { ok: false, issues: [{ path: "decisions", message: `the space has architectures the ${fam} family cannot build (${zodPath(issue.path).replace(/^\./, "") || "architecture"}: ${issue.message}), e.g. ${JSON.stringify(arch)}; add a constraint or a \`when\`` }] };
    }
  }
  return { ok: true, space, definition, version, evaluators: evaluatorsForFamily(fam) };
}

/**
 * Why a search cannot run a space's training decisions (`train.<option>`) as asked: they set the train evaluator's
 * options, so they need that evaluator; a scheduler decides the budgets itself (no `train.steps`); DARTS trains one
 * supernet with the search's options (no training decisions at all).
 */
export function trainingDecisionProblem(
  space: SearchSpace,
  request: { evaluator: { type: string }; strategy: { type: string }; scheduler?: unknown },
): { field: string; message: string } | undefined {
  const options = space.definition.decisions.map((d) => trainingOption(d.name)).filter((o): o is string => o !== undefined);
  if (options.length === 0) return undefined;
  if (request.evaluator.type !== "train") return { field: "evaluator.type", message: `the space searches training settings (${options.join(", ")}): it needs the train evaluator` };
  if (request.scheduler && options.includes("steps")) return { field: "scheduler", message: "the space decides each trial's training steps (train.steps); a scheduler decides them itself: use one or the other" };
  if (request.strategy.type === "darts") return { field: "strategy.type", message: `DARTS trains one supernet with the search's options; the space's training settings (${options.join(", ")}) cannot be searched with it` };
  return undefined;
}

/** A stored space's definition (a user's, or a search's snapshot) as a space. */
export function spaceOf(definition: unknown): SearchSpace {
  return new SearchSpace(definition);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}
