/**
 * The flow family's architecture object (what the search spaces flow-2d and flow-mnist produce) and the one
 * function that builds a flow from it, plus its analytic parameter count.
 *
 * A flow of `steps` steps, each (Glow's order): [actnorm] → [permutation] → coupling, then the base distribution:
 *   coupling     "additive" (NICE) | "affine" (RealNVP) | "maf" (MADE autoregressive)
 *   scale_bound  "tanh" | "sigmoid"  (affine and maf only)
 *   permutation  "none" | "reverse" | "random" (fixed by the seed) | "lu" (learned, Glow)
 *   mask         "half" (flat data) | "checkerboard" | "channel" (images; parity alternates by step)
 *   hidden_width, hidden_depth, activation: the conditioner MLP (or MADE) of every coupling
 *   base         "standard_normal" | "diagonal_gaussian" (learned mean and scale)
 * An additive flow on a standard normal base ends with NICE's diagonal scaling layer (scaling.ts), since additive
 * couplings cannot change volume; a learned diagonal Gaussian base already is that scaling.
 */
import { z } from "zod";
import { ActNorm } from "./actnorm.js";
import { MaskedAutoregressive, mafParameterCount } from "./autoregressive.js";
import { ACTIVATIONS } from "./conditioner.js";
import { AdditiveCoupling, AffineCoupling, couplingParameterCount, type ConditionerSpec } from "./coupling.js";
import { DiagonalGaussian, StandardNormal } from "./distributions.js";
import { Flow } from "./flow.js";
import { LULinear } from "./lu-linear.js";
import { couplingMask, MASK_KINDS, type ImageShape } from "./masks.js";
import { Permutation } from "./permutation.js";
import { Rng } from "./random.js";
import { SCALE_BOUNDS } from "./scale.js";
import { DiagonalScaling } from "./scaling.js";
import { CompositeTransform, type Transform } from "./transform.js";

export const flowArchitectureSchema = z.object({
  steps: z.number().int().min(1).max(64),
  coupling: z.enum(["additive", "affine", "maf"]),
  scale_bound: z.enum(SCALE_BOUNDS).default("tanh"),
  permutation: z.enum(["none", "reverse", "random", "lu"]).default("reverse"),
  mask: z.enum(MASK_KINDS).default("half"),
  actnorm: z.boolean().default(false),
  hidden_width: z.number().int().min(1).max(4096),
  hidden_depth: z.number().int().min(1).max(8),
  activation: z.enum(ACTIVATIONS).default("relu"),
  base: z.enum(["standard_normal", "diagonal_gaussian"]).default("standard_normal"),
});
export type FlowArchitecture = z.infer<typeof flowArchitectureSchema>;

/** The data a flow is built for: a flat dimension, or an image (dim = height·width). */
export interface FlowInput {
  dim: number;
  image?: ImageShape;
}

/** The reference of the benchmark: RealNVP, 8 affine coupling steps with reverse permutations, MLP 64×2. */
export const REFERENCE_REALNVP: FlowArchitecture = flowArchitectureSchema.parse({
  steps: 8,
  coupling: "affine",
  scale_bound: "tanh",
  permutation: "reverse",
  actnorm: false,
  hidden_width: 64,
  hidden_depth: 2,
  activation: "relu",
  base: "standard_normal",
});

/** Parses an architecture JSON (unknown keys are ignored), throwing a readable error when it is malformed. */
export function parseFlowArchitecture(input: unknown): FlowArchitecture {
  const r = flowArchitectureSchema.safeParse(input);
  if (!r.success) throw new Error(`not a flow architecture: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return r.data;
}

function maskFor(arch: FlowArchitecture, input: FlowInput, step: number): number[] {
  // Flat "half" masks rely on permutations to mix; with none they alternate like image masks.
  const alternate = arch.mask !== "half" || arch.permutation === "none";
  return couplingMask(arch.mask, input.dim, alternate ? step : 0, input.image);
}

/** NICE's top scaling layer: only additive flows lack a volume change, and a learned base provides one. */
function needsScaling(arch: FlowArchitecture): boolean {
  return arch.coupling === "additive" && arch.base === "standard_normal";
}

function conditionerOf(arch: FlowArchitecture): ConditionerSpec {
  return { width: arch.hidden_width, depth: arch.hidden_depth, activation: arch.activation };
}

/** Builds the flow of `arch` for `input`; every initial value comes from `seed`. */
export function buildFlow(archInput: FlowArchitecture | unknown, input: FlowInput, seed: number): Flow {
  const arch = parseFlowArchitecture(archInput);
  const rng = new Rng(seed);
  const cond = conditionerOf(arch);
  const layers: Transform[] = [];
  for (let s = 0; s < arch.steps; s++) {
    if (arch.actnorm) layers.push(new ActNorm(input.dim));
    if (arch.permutation === "reverse") layers.push(Permutation.reverse(input.dim));
    else if (arch.permutation === "random") layers.push(Permutation.random(input.dim, rng));
    else if (arch.permutation === "lu") layers.push(new LULinear(input.dim, rng));
    const mask = maskFor(arch, input, s);
    if (arch.coupling === "additive") layers.push(new AdditiveCoupling({ mask, conditioner: cond }, rng));
    else if (arch.coupling === "affine") layers.push(new AffineCoupling({ mask, conditioner: cond, scaleBound: arch.scale_bound }, rng));
    else layers.push(new MaskedAutoregressive(input.dim, { ...cond, scaleBound: arch.scale_bound }, rng));
  }
  if (needsScaling(arch)) layers.push(new DiagonalScaling(input.dim));
  const base = arch.base === "diagonal_gaussian" ? new DiagonalGaussian(input.dim) : new StandardNormal(input.dim);
  return new Flow(new CompositeTransform(layers), base);
}

/** Trainable parameters of `buildFlow(arch, input)`, computed from the architecture alone. */
export function flowParameterCount(archInput: FlowArchitecture | unknown, input: FlowInput): number {
  const arch = parseFlowArchitecture(archInput);
  const d = input.dim;
  const cond = conditionerOf(arch);
  let total = arch.base === "diagonal_gaussian" ? 2 * d : 0;
  if (needsScaling(arch)) total += d;
  for (let s = 0; s < arch.steps; s++) {
    if (arch.actnorm) total += 2 * d;
    if (arch.permutation === "lu") total += d * d;
    if (arch.coupling === "maf") total += mafParameterCount(d, cond, arch.scale_bound);
    else total += couplingParameterCount(arch.coupling, { mask: maskFor(arch, input, s), conditioner: cond }, arch.scale_bound);
  }
  return total;
}
