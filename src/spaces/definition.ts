/**
 * The declarative format of a search space (search-spaces/*.json), validated by zod when loaded.
 *
 * A space is a list of decisions. An architecture is a plain JSON object with one entry per active decision:
 *   - `categorical`: one of `values` (strings, numbers or booleans);
 *   - `integer`: an integer in [min, max] on a grid of `step`;
 *   - `repeat`: an array of per-item objects (e.g. per-layer choices) whose length is the value of the integer
 *     decision named by `count`; its `decisions` are categorical or integer.
 * A decision with `when` is active only where that expression holds (e.g. a window size only for local attention).
 * A categorical decision with a `default` may be omitted from an architecture, which then has that value: a
 * decision added to a space keeps the architectures written before it valid (and hashed as their canonical form).
 * `constraints` are expressions every architecture must satisfy; a repeat's own constraints see the item's
 * decisions and the global ones.
 */
import { z } from "zod";

// `train.<option>` names a training setting searched with the architecture (src/spaces/training-decisions.ts).
const name = z.string().regex(/^(train\.)?[A-Za-z_][A-Za-z0-9_]*$/, "a decision name is an identifier (or train.<option> for a training setting)");
export const valueSchema = z.union([z.string(), z.number(), z.boolean()]);
export type DecisionValue = z.infer<typeof valueSchema>;

const common = { name, description: z.string().optional(), when: z.string().optional() };

export const categoricalSchema = z
  .object({
    ...common,
    type: z.literal("categorical"),
    values: z.array(valueSchema).min(1),
    // The value of an architecture that omits this decision (one written before the decision was added).
    default: valueSchema.optional(),
  })
  .refine((d) => d.default === undefined || d.values.includes(d.default), "default must be one of values");
export const integerSchema = z
  .object({
    ...common,
    type: z.literal("integer"),
    min: z.number().int(),
    max: z.number().int(),
    step: z.number().int().positive().default(1),
  })
  .refine((d) => d.max >= d.min, "max must be ≥ min");
export const leafDecisionSchema = z.union([categoricalSchema, integerSchema]);
export const repeatSchema = z.object({
  name,
  description: z.string().optional(),
  type: z.literal("repeat"),
  count: name,
  decisions: z.array(leafDecisionSchema).min(1),
  constraints: z.array(z.string()).default([]),
});
export const decisionSchema = z.union([categoricalSchema, integerSchema, repeatSchema]);

export const spaceDefinitionSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  // Built-in spaces number their versions; a user's space is versioned by the hash of its content (user-spaces).
  version: z.union([z.number().int().positive(), z.string().regex(/^[0-9a-f]{8,64}$/, "a version is a number or a content hash")]),
  family: z.string().min(1),
  description: z.string().default(""),
  decisions: z.array(decisionSchema).min(1),
  constraints: z.array(z.string()).default([]),
});

export type CategoricalDecision = z.infer<typeof categoricalSchema>;
export type IntegerDecision = z.infer<typeof integerSchema>;
export type LeafDecision = z.infer<typeof leafDecisionSchema>;
export type RepeatDecision = z.infer<typeof repeatSchema>;
export type Decision = z.infer<typeof decisionSchema>;
export type SpaceDefinition = z.infer<typeof spaceDefinitionSchema>;

/** An architecture: one value per active decision, arrays of objects for repeats. */
export type Architecture = { [name: string]: DecisionValue | Array<Record<string, DecisionValue>> };
export const architectureSchema: z.ZodType<Architecture> = z.record(z.string(), z.union([valueSchema, z.array(z.record(z.string(), valueSchema))]));
