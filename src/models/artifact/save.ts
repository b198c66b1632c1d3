/**
 * A trained model as the two files of the service's model format (./format.ts): its manifest and its weights.
 * Trainers call these after training (the `train` evaluator's trials, retrained models); the bytes travel as the
 * trial's `model.json` and `weights.bin` artifacts and are kept in PostgreSQL (src/db/models.ts).
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Flow, FlowInput } from "../flows/index.js";
import type { TransformerLM } from "../transformer/index.js";
import { encodeWeights, MANIFEST_FILE, MODEL_FORMAT, WEIGHTS_FILE, type FlowManifest, type ModelFiles, type Normalisation, type TransformerManifest, type WeightSpec } from "./format.js";

/** What a model's manifest says besides its weights: what it was trained on and how it scored. */
export interface ModelInfo {
  architecture: Record<string, unknown>;
  seed: number;
  trainConfig: Record<string, unknown>;
  task: string;
  datasetSha256?: string | null;
  metrics?: Record<string, unknown>;
}

function weightsOf(named: ReadonlyArray<[string, tf.Variable]>): { specs: WeightSpec[]; bytes: Uint8Array } {
  const specs = named.map(([name, v]) => ({ name, shape: [...v.shape], dtype: "float32" as const }));
  return { specs, bytes: encodeWeights(named.map(([, v]) => v.dataSync() as Float32Array)) };
}

/**
 * A Transformer LM and its vocabulary (token id → text; `unknownToken`: the id unknown characters map to, if the
 * task has one).
 */
export function transformerFiles(model: TransformerLM, vocabulary: readonly string[], info: ModelInfo, unknownToken: number | null = null): ModelFiles {
  const { specs, bytes } = weightsOf(model.params.entries());
  const manifest: TransformerManifest = {
    format: MODEL_FORMAT,
    family: "transformer",
    ...info,
    datasetSha256: info.datasetSha256 ?? null,
    metrics: info.metrics ?? {},
    dims: { ...model.dims },
    vocabulary: [...vocabulary],
    unknownToken,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  return { manifest, weights: bytes };
}

/** A flow, the input it was built for, and how data rows map to its space. */
export function flowFiles(flow: Flow, input: FlowInput, normalisation: Normalisation, info: ModelInfo): ModelFiles {
  const { specs, bytes } = weightsOf(flow.variables().map((v, i) => [`flow.${i}`, v] as [string, tf.Variable]));
  const manifest: FlowManifest = {
    format: MODEL_FORMAT,
    family: "flow",
    ...info,
    datasetSha256: info.datasetSha256 ?? null,
    metrics: info.metrics ?? {},
    input: input.image ? { dim: input.dim, image: { ...input.image } } : { dim: input.dim },
    normalisation,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  return { manifest, weights: bytes };
}

/** The two files as trial artifacts (what an evaluator returns; the trainer keeps them as the trial's weights). */
export function modelArtifacts(files: ModelFiles): Array<{ name: string; contentType: string; data: Buffer }> {
  return [
    { name: MANIFEST_FILE, contentType: "application/json", data: Buffer.from(JSON.stringify(files.manifest)) },
    { name: WEIGHTS_FILE, contentType: "application/octet-stream", data: Buffer.from(files.weights.buffer, files.weights.byteOffset, files.weights.byteLength) },
  ];
}
