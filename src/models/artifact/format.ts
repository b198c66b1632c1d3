/**
 * The service's model format: a trained model as two files, in the layout of TensorFlow.js's `model.json` +
 * weight files (the project's models are not tf.LayersModel, so `tf.loadLayersModel` cannot rebuild them; `loadModel`
 * in ./load.ts does).
 *
 *   model.json   {format, family, architecture, dims | input, seed, trainConfig, task, datasetSha256,
 *                 vocabulary | normalisation, metrics, weightsManifest}
 *   weights.bin  every weight, float32 little-endian, concatenated in the order of weightsManifest[0].weights
 *
 * - `weightsManifest` is tfjs's: `[{paths: ["weights.bin"], weights: [{name, shape, dtype: "float32"}]}]`, so tfjs's
 *   own `tf.io.decodeWeights(buffer, manifest[0].weights)` reads the tensors by name.
 * - Transformers: `architecture` (the transformer family's JSON), `dims` {vocabSize, contextLength}, `vocabulary`
 *   (token id → its text: characters for character models; generation encodes prompts with it), `unknownToken` (the
 *   id unknown characters map to, a text dataset's `<unk>`, or null; it decodes as U+FFFD). Weight names are
 *   the model's parameter names (`embedding`, `layers.0.attn.q.w`, …).
 * - Flows: `architecture` (the flow family's JSON), `input` {dim, image?}, `seed` (the seed the flow was built
 *   with: fixed random permutations come from it), `normalisation` (how data rows map to the flow's space:
 *   identity, per-column standardisation, or the logit transform of dequantised pixels). Weights are named
 *   `flow.<i>` in the order of `Flow.variables()`.
 * - `task` is the task the model was trained on (e.g. `charlm-moby-dick`, or `charlm:ds_…` for a dataset), with
 *   `datasetSha256` the content hash of the data when it came from an uploaded dataset.
 *
 * A download (`GET /v1/models/:id/download`) is one JSON document holding both files:
 *   {"format": "nas-model-bundle/1", "model.json": {...}, "weights.bin": "<base64>"}
 * `loadModel` takes that bundle, a folder with the two files, or the manifest and the bytes.
 *
 * Light: zod only (the API reads manifests without loading tfjs).
 */
import { z } from "zod";

export const MODEL_FORMAT = "nas-model/1";
export const BUNDLE_FORMAT = "nas-model-bundle/1";
export const MANIFEST_FILE = "model.json";
export const WEIGHTS_FILE = "weights.bin";

const weightSpec = z.object({ name: z.string(), shape: z.array(z.number().int().min(0)), dtype: z.literal("float32") });
export type WeightSpec = z.infer<typeof weightSpec>;

export const normalisationSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("identity") }),
  /** x ↦ (x − mean) / std per column; log p(x) = log p_flow(z) − Σ log std. */
  z.object({ kind: z.literal("standardize"), mean: z.array(z.number()), std: z.array(z.number().positive()) }),
  /** Pixels y ∈ [0, levels) (dequantised) ↦ logit(α + (1 − 2α)·y/levels), the MNIST transform of src/tasks/mnist.ts. */
  z.object({ kind: z.literal("logit"), alpha: z.number().positive().max(0.5), levels: z.number().positive() }),
]);
export type Normalisation = z.infer<typeof normalisationSchema>;

const common = {
  format: z.literal(MODEL_FORMAT),
  architecture: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  trainConfig: z.record(z.string(), z.unknown()),
  task: z.string(),
  datasetSha256: z.string().nullable().default(null),
  metrics: z.record(z.string(), z.unknown()).default({}),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(weightSpec) })).length(1),
};

export const transformerManifestSchema = z.object({
  ...common,
  family: z.literal("transformer"),
  dims: z.object({ vocabSize: z.number().int().positive(), contextLength: z.number().int().positive() }),
  vocabulary: z.array(z.string()),
  /** The token unknown characters map to (a dataset's `<unk>`), or null: every character of a prompt must be known. */
  unknownToken: z.number().int().min(0).nullable().default(null),
});
export const flowManifestSchema = z.object({
  ...common,
  family: z.literal("flow"),
  input: z.object({ dim: z.number().int().positive(), image: z.object({ height: z.number().int().positive(), width: z.number().int().positive() }).optional() }),
  normalisation: normalisationSchema,
});
export const modelManifestSchema = z.discriminatedUnion("family", [transformerManifestSchema, flowManifestSchema]);
export type TransformerManifest = z.infer<typeof transformerManifestSchema>;
export type FlowManifest = z.infer<typeof flowManifestSchema>;
export type ModelManifest = z.infer<typeof modelManifestSchema>;

/** The two files of a model: model.json's content and weights.bin's bytes. */
export interface ModelFiles {
  manifest: ModelManifest;
  weights: Uint8Array;
}

export const bundleSchema = z.object({ format: z.literal(BUNDLE_FORMAT), [MANIFEST_FILE]: z.unknown(), [WEIGHTS_FILE]: z.string() });
export type ModelBundle = z.infer<typeof bundleSchema>;

/** A download: both files in one JSON document (weights.bin in base64). */
export function toBundle(files: { manifest: unknown; weights: Uint8Array }): ModelBundle {
  return { format: BUNDLE_FORMAT, [MANIFEST_FILE]: files.manifest, [WEIGHTS_FILE]: Buffer.from(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength).toString("base64") };
}

export function fromBundle(bundle: unknown): ModelFiles {
  const b = bundleSchema.parse(bundle);
  return { manifest: modelManifestSchema.parse(b[MANIFEST_FILE]), weights: new Uint8Array(Buffer.from(b[WEIGHTS_FILE], "base64")) };
}

/** Float32 values of the weights, little-endian, one after another (what weights.bin holds). */
export function encodeWeights(values: readonly Float32Array[]): Uint8Array {
  const total = values.reduce((n, v) => n + v.length, 0);
  const out = new Uint8Array(total * 4);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const v of values) for (let i = 0; i < v.length; i++, offset += 4) view.setFloat32(offset, v[i]!, true);
  return out;
}

/** weights.bin read back against its manifest: name → (shape, values). Throws when the sizes disagree. */
export function decodeWeights(bytes: Uint8Array, specs: readonly WeightSpec[]): Map<string, { shape: number[]; values: Float32Array }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((p, s) => p * s, 1);
    if (offset + size * 4 > bytes.byteLength) throw new Error(`${WEIGHTS_FILE} is too short for weight '${spec.name}' (${bytes.byteLength} bytes)`);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++, offset += 4) values[i] = view.getFloat32(offset, true);
    out.set(spec.name, { shape: spec.shape, values });
  }
  if (offset !== bytes.byteLength) throw new Error(`${WEIGHTS_FILE} has ${bytes.byteLength - offset} bytes more than its manifest describes`);
  return out;
}
