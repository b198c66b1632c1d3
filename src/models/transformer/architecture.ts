/**
 * The architecture JSON of the `transformer` family (search-spaces/transformer-lm.json) as a typed object.
 * It is the only input of the model builder, the parameter count and the FLOP count.
 */
import { z } from "zod";

export const ATTENTION_KINDS = ["full", "local", "strided", "linear"] as const;
export const POSITION_KINDS = ["sinusoidal", "learned", "alibi", "rotary"] as const;
export const NORM_KINDS = ["pre_ln", "post_ln", "rmsnorm"] as const;
export const ACTIVATIONS = ["relu", "gelu", "swish", "squared_relu", "geglu", "swiglu"] as const;

export type AttentionKind = (typeof ATTENTION_KINDS)[number];
export type PositionKind = (typeof POSITION_KINDS)[number];
export type NormKind = (typeof NORM_KINDS)[number];
export type Activation = (typeof ACTIVATIONS)[number];

export const layerSchema = z.object({
  /** full softmax, local sliding window, strided sparse (Child et al. 2019), linear (Katharopoulos et al. 2020). */
  attention: z.enum(ATTENTION_KINDS),
  /** Keys a query sees with `local` attention: itself and the window − 1 before it. */
  window: z.number().int().min(1).optional(),
  /** Period of the `strided` pattern: the stride − 1 previous positions plus every stride-th one before. */
  stride: z.number().int().min(1).optional(),
  activation: z.enum(ACTIVATIONS),
});

export const transformerArchitectureSchema = z
  .object({
    n_layers: z.number().int().min(1),
    d_model: z.number().int().min(1),
    n_heads: z.number().int().min(1),
    /** Hidden width of the feed-forward block is ff_mult · d_model (for GLU variants: of each of its two branches). */
    ff_mult: z.number().int().min(1),
    positions: z.enum(POSITION_KINDS),
    norm: z.enum(NORM_KINDS),
    dropout: z.number().min(0).max(0.9),
    layers: z.array(layerSchema),
  })
  .refine((a) => a.d_model % a.n_heads === 0, { message: "d_model must be divisible by n_heads" })
  .refine((a) => a.layers.length === a.n_layers, { message: "layers must have n_layers items" })
  .refine((a) => a.positions !== "rotary" || (a.d_model / a.n_heads) % 2 === 0, { message: "rotary positions need an even head size" })
  .refine((a) => a.layers.every((l) => (l.attention !== "local" || l.window) && (l.attention !== "strided" || l.stride)), {
    message: "local attention needs a window, strided attention a stride",
  });

export type LayerSpec = z.infer<typeof layerSchema>;
export type TransformerArchitecture = z.infer<typeof transformerArchitectureSchema>;

/** What the model needs besides the architecture: the task's vocabulary and the longest context it will see. */
export interface ModelDims {
  vocabSize: number;
  contextLength: number;
}

/** Parses an architecture JSON object; throws a zod error naming the bad field. */
export function parseArchitecture(input: unknown): TransformerArchitecture {
  return transformerArchitectureSchema.parse(input);
}

export function headSize(arch: TransformerArchitecture): number {
  return arch.d_model / arch.n_heads;
}

/** GLU variants (Shazeer 2020) have a gate and a value branch of the same width. */
export function isGated(activation: Activation): boolean {
  return activation === "geglu" || activation === "swiglu";
}
