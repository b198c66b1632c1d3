/**
 * The flow family's architecture object (what the search spaces flow-2d and flow-mnist produce), the coupling
 * masks it implies, and its analytic parameter count. Plain data and arithmetic: this module imports nothing but
 * zod, so a caller that must not load tfjs (the API's catalogue) can validate an architecture and count its
 * parameters before a trial is queued. `buildFlow` (flow.ts) builds the flow it describes.
 *
 * A flow of `steps` steps, each (Glow's order): [actnorm] → [permutation] → coupling, then the base distribution:
 *   coupling     "additive" (NICE) | "affine" (RealNVP) | "maf" (MADE autoregressive)
 *   scale_bound  "tanh" | "sigmoid"  (affine and maf only)
 *   permutation  "none" | "reverse" | "random" (fixed by the seed) | "lu" (learned, Glow)
 *   mask         "half" (flat data) | "checkerboard" | "channel" (images; parity alternates by step)
 *   hidden_width, hidden_depth, activation: the conditioner MLP (or MADE) of every coupling
 *   base         "standard_normal" | "diagonal_gaussian" (learned mean and scale)
 * An additive flow on a standard normal base ends with NICE's diagonal scaling layer (transforms.ts), since
 * additive couplings cannot change volume; a learned diagonal Gaussian base already is that scaling.
 */
import { z } from "zod";

/** Conditioner activations (conditioner.ts). */
export const ACTIVATIONS = ["relu", "tanh", "elu", "swish"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * Bounded log-scales of the affine layers (coupling.ts, BoundedLogScale): log s = c ⊙ tanh(r) with a learned
 * per-dimension c, or log 2σ(r).
 */
export const SCALE_BOUNDS = ["tanh", "sigmoid"] as const;
export type ScaleBound = (typeof SCALE_BOUNDS)[number];

export const COUPLING_KINDS = ["additive", "affine", "maf"] as const;
export const PERMUTATION_KINDS = ["none", "reverse", "random", "lu"] as const;
export const BASE_KINDS = ["standard_normal", "diagonal_gaussian"] as const;

/**
 * Binary coupling masks (1 = conditioning part, passed through; 0 = transformed part), after RealNVP §3.4.
 *   - "half":         first ⌈D/2⌉ dimensions vs the rest (flat vectors, e.g. 2-D points; permutations between
 *                     steps decide which dimensions meet).
 *   - "checkerboard": pixels with (row + col) even vs odd.
 *   - "channel":      RealNVP's channel-wise mask after a 2×2 squeeze, written on the unsqueezed image: squeezing
 *                     puts the four pixels of each 2×2 block in four channels, and the first two channels (the
 *                     top row of each block) are the even rows of the image, so this is even rows vs odd rows.
 * `parity` 1 swaps the two parts; image masks alternate parity from step to step.
 */
export const MASK_KINDS = ["half", "checkerboard", "channel"] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

export interface ImageShape {
  height: number;
  width: number;
}

export function couplingMask(kind: MaskKind, dim: number, parity: number, image?: ImageShape): number[] {
  const flip = (m: number) => (parity % 2 === 0 ? m : 1 - m);
  if (kind === "half") {
    const k = Math.ceil(dim / 2);
    return Array.from({ length: dim }, (_, i) => flip(i < k ? 1 : 0));
  }
  if (!image || image.height * image.width !== dim) throw new Error(`mask '${kind}' needs an image shape whose size is ${dim}`);
  return Array.from({ length: dim }, (_, i) => {
    const r = Math.floor(i / image.width);
    const c = i % image.width;
    return flip(kind === "checkerboard" ? ((r + c) % 2 === 0 ? 1 : 0) : r % 2 === 0 ? 1 : 0);
  });
}

export const flowArchitectureSchema = z.object({
  steps: z.number().int().min(1).max(64),
  coupling: z.enum(COUPLING_KINDS),
  scale_bound: z.enum(SCALE_BOUNDS).default("tanh"),
  permutation: z.enum(PERMUTATION_KINDS).default("reverse"),
  mask: z.enum(MASK_KINDS).default("half"),
  actnorm: z.boolean().default(false),
  hidden_width: z.number().int().min(1).max(4096),
  hidden_depth: z.number().int().min(1).max(8),
  activation: z.enum(ACTIVATIONS).default("relu"),
  base: z.enum(BASE_KINDS).default("standard_normal"),
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

/** The conditioner of a coupling (or the MADE of a MAF layer): hidden width, hidden layers, activation. */
export interface ConditionerSpec {
  width: number;
  depth: number;
  activation: Activation;
}

export interface CouplingSpec {
  /** 0/1 per dimension: 1 = conditioning part (unchanged), 0 = transformed part. */
  mask: readonly number[];
  conditioner: ConditionerSpec;
}

/** An MLP conditioner (conditioner.ts, buildMlp). */
export interface MlpSpec {
  inputs: number;
  outputs: number;
  /** Hidden units per layer. */
  width: number;
  /** Number of hidden layers (≥ 1). */
  depth: number;
  activation: Activation;
}

/** A MADE network: `dim` inputs, `outputsPerInput` blocks of `dim` outputs (e.g. shift and log-scale for MAF). */
export type MadeSpec = Omit<MlpSpec, "inputs" | "outputs"> & { dim: number; outputsPerInput: number };

export function conditionerOf(arch: FlowArchitecture): ConditionerSpec {
  return { width: arch.hidden_width, depth: arch.hidden_depth, activation: arch.activation };
}

/** The coupling mask of step `step`. */
export function stepMask(arch: FlowArchitecture, input: FlowInput, step: number): number[] {
  // Flat "half" masks rely on permutations to mix; with none they alternate like image masks.
  const alternate = arch.mask !== "half" || arch.permutation === "none";
  return couplingMask(arch.mask, input.dim, alternate ? step : 0, input.image);
}

/** NICE's top scaling layer: only additive flows lack a volume change, and a learned base provides one. */
export function needsScaling(arch: FlowArchitecture): boolean {
  return arch.coupling === "additive" && arch.base === "standard_normal";
}

// ---- Parameter counts: the trainable scalars of each block, from its shape alone ----

/** Trainable scalars of `buildMlp(spec)` (conditioner.ts; masked layers store full matrices). */
export function mlpParameterCount(spec: MlpSpec): number {
  const { inputs, outputs, width, depth } = spec;
  return inputs * width + width + (depth - 1) * (width * width + width) + width * outputs + outputs;
}

/** Masked layers keep full weight matrices as variables, so MADE counts like the unmasked MLP. */
export function madeParameterCount(spec: MadeSpec): number {
  const { dim, outputsPerInput, ...rest } = spec;
  return mlpParameterCount({ inputs: dim, outputs: outputsPerInput * dim, ...rest });
}

/** The learned per-dimension scale c of the tanh bound; the sigmoid bound has none. */
export function boundParameterCount(kind: ScaleBound, dim: number): number {
  return kind === "tanh" ? dim : 0;
}

/** Trainable scalars of a coupling layer, from its mask and conditioner alone. */
export function couplingParameterCount(kind: "additive" | "affine", spec: CouplingSpec, scaleBound: ScaleBound): number {
  const na = spec.mask.filter((m) => m).length;
  const nb = spec.mask.length - na;
  if (kind === "additive") return mlpParameterCount({ inputs: na, outputs: nb, ...spec.conditioner });
  return mlpParameterCount({ inputs: na, outputs: 2 * nb, ...spec.conditioner }) + boundParameterCount(scaleBound, nb);
}

export function mafParameterCount(dim: number, spec: ConditionerSpec, scaleBound: ScaleBound): number {
  return madeParameterCount({ dim, outputsPerInput: 2, ...spec }) + boundParameterCount(scaleBound, dim);
}

/** Trainable parameters of `buildFlow(arch, input)`, computed from the architecture alone. */
export function flowParameterCount(archInput: FlowArchitecture | unknown, input: FlowInput): number {
  const arch = parseFlowArchitecture(archInput);
  const d = input.dim;
  const cond = conditionerOf(arch);
  let total = arch.base === "diagonal_gaussian" ? 2 * d : 0;
  if (needsScaling(arch)) total += d; // DiagonalScaling's log s
  for (let s = 0; s < arch.steps; s++) {
    if (arch.actnorm) total += 2 * d; // bias and log-scale
    if (arch.permutation === "lu") total += d * d; // the packed LU factors
    if (arch.coupling === "maf") total += mafParameterCount(d, cond, arch.scale_bound);
    else total += couplingParameterCount(arch.coupling, { mask: stepMask(arch, input, s), conditioner: cond }, arch.scale_bound);
  }
  return total;
}
