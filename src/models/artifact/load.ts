/**
 * `loadModel`: rebuilds a model saved in the service's format (./format.ts) — from a downloaded bundle, a folder
 * holding `model.json` and `weights.bin`, or the manifest and the bytes — and gives what a quick check needs:
 * `generate` for language models, `sample` and `logProb` for flows, in the data's own units (the vocabulary and
 * the normalisation the model was trained with are in its manifest).
 *
 *   import { loadModel } from "./src/models/artifact/index.js";
 *   const m = await loadModel("model.bundle.json");
 *   if (m.family === "transformer") console.log(m.generate({ prompt: "Call me ", maxLength: 100 }));
 *   else console.log(m.sample(5), m.logProb([[0.1, 0.2]]));
 *   m.dispose();
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../backend.js";
import { buildFlow, type Flow } from "../flows/index.js";
import { sampleTokens, TransformerLM } from "../transformer/index.js";
import { decodeWeights, fromBundle, MANIFEST_FILE, modelManifestSchema, WEIGHTS_FILE, type FlowManifest, type ModelFiles, type Normalisation, type TransformerManifest } from "./format.js";

/** What the unknown token decodes to (U+FFFD REPLACEMENT CHARACTER). */
const REPLACEMENT = "\uFFFD";

export interface LoadedTransformer {
  family: "transformer";
  manifest: TransformerManifest;
  model: TransformerLM;
  /**
   * Text → token ids (longest vocabulary entry first). A character it does not know maps to the manifest's
   * `unknownToken`; without one, it throws a RangeError naming the character.
   */
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
  /** The text generated after `prompt` (the continuation, not the prompt), sampled at `temperature`. */
  generate(opts: { prompt: string; maxLength: number; temperature?: number; seed?: number }): string;
  dispose(): void;
}

export interface LoadedFlow {
  family: "flow";
  manifest: FlowManifest;
  flow: Flow;
  /** `n` rows in data space (pixels in [0, levels) for image models). */
  sample(n: number, seed?: number): number[][];
  /** log-density (nats) of each data-space row. */
  logProb(rows: ReadonlyArray<readonly number[]>): number[];
  dispose(): void;
}

export type LoadedModel = LoadedTransformer | LoadedFlow;

/** The files of a model, however they are given. */
export function readModelFiles(source: ModelFiles | { manifest: unknown; weights: Uint8Array } | string | object): ModelFiles {
  if (typeof source === "string") {
    if (existsSync(source) && statSync(source).isDirectory()) {
      return {
        manifest: modelManifestSchema.parse(JSON.parse(readFileSync(path.join(source, MANIFEST_FILE), "utf8"))),
        weights: new Uint8Array(readFileSync(path.join(source, WEIGHTS_FILE))),
      };
    }
    return fromBundle(JSON.parse(readFileSync(source, "utf8")));
  }
  if ("manifest" in source && "weights" in source) return { manifest: modelManifestSchema.parse(source.manifest), weights: source.weights as Uint8Array };
  return fromBundle(source);
}

/** Assigns saved values to variables, checking that every weight is there with its shape. */
function assign(target: ReadonlyArray<[string, tf.Variable]>, saved: ReturnType<typeof decodeWeights>): void {
  if (saved.size !== target.length) throw new Error(`the model has ${target.length} weights, the file ${saved.size}`);
  for (const [name, v] of target) {
    const w = saved.get(name);
    if (!w) throw new Error(`weight '${name}' is missing from ${WEIGHTS_FILE}`);
    if (w.shape.join("x") !== v.shape.join("x")) throw new Error(`weight '${name}' has shape [${w.shape}] in the file, [${v.shape}] in the model`);
    tf.tidy(() => v.assign(tf.tensor(w.values, w.shape, "float32")));
  }
}

export async function loadModel(source: ModelFiles | string | object): Promise<LoadedModel> {
  const files = readModelFiles(source);
  await initBackend();
  const saved = decodeWeights(files.weights, files.manifest.weightsManifest[0]!.weights);
  return files.manifest.family === "transformer" ? loadTransformer(files.manifest, saved) : loadFlow(files.manifest, saved);
}

function loadTransformer(manifest: TransformerManifest, saved: ReturnType<typeof decodeWeights>): LoadedTransformer {
  const model = new TransformerLM(manifest.architecture, manifest.dims, manifest.seed);
  try {
    assign(model.params.entries(), saved);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const vocab = manifest.vocabulary;
  const unknown = manifest.unknownToken !== null && manifest.unknownToken < vocab.length ? manifest.unknownToken : null;
  const byText = new Map<string, number>();
  vocab.forEach((t, i) => {
    if (t !== "" && i !== unknown && !byText.has(t)) byText.set(t, i);
  });
  const longest = Math.max(1, ...vocab.map((t) => t.length));
  const encode = (text: string): number[] => {
    const out: number[] = [];
    const chars = Array.from(text);
    for (let i = 0; i < chars.length; ) {
      let found = -1;
      let used = 0;
      for (let n = Math.min(longest, chars.length - i); n >= 1 && found < 0; n--) {
        const id = byText.get(chars.slice(i, i + n).join(""));
        if (id !== undefined) [found, used] = [id, n];
      }
      if (found < 0 && unknown !== null) [found, used] = [unknown, 1];
      if (found < 0) throw new RangeError(`character ${JSON.stringify(chars[i])} (at ${i}) is not in the model's vocabulary`);
      out.push(found);
      i += used;
    }
    return out;
  };
  // The unknown token stands for characters the model never saw: it decodes as the replacement character.
  const decode = (tokens: readonly number[]) => tokens.map((t) => (t === unknown ? REPLACEMENT : (vocab[t] ?? ""))).join("");
  return {
    family: "transformer",
    manifest,
    model,
    encode,
    decode,
    generate: ({ prompt, maxLength, temperature = 1, seed = 0 }) => decode(sampleTokens(model, encode(prompt), maxLength, { seed, temperature })),
    dispose: () => model.dispose(),
  };
}

function loadFlow(manifest: FlowManifest, saved: ReturnType<typeof decodeWeights>): LoadedFlow {
  const flow = buildFlow(manifest.architecture, manifest.input, manifest.seed);
  try {
    assign(flow.variables().map((v, i) => [`flow.${i}`, v] as [string, tf.Variable]), saved);
  } catch (err) {
    flow.dispose();
    throw err;
  }
  const dim = manifest.input.dim;
  const norm = manifest.normalisation;
  return {
    family: "flow",
    manifest,
    flow,
    sample(n, seed = 0) {
      const s = flow.sample(n, seed);
      const values = s.dataSync() as Float32Array;
      s.dispose();
      const rows: number[][] = [];
      for (let i = 0; i < n; i++) rows.push(toData(norm, values.subarray(i * dim, (i + 1) * dim)));
      return rows;
    },
    logProb(rows) {
      for (const [i, r] of rows.entries()) if (r.length !== dim) throw new RangeError(`row ${i} has ${r.length} values; the model's rows have ${dim}`);
      if (rows.length === 0) return [];
      const z = new Float32Array(rows.length * dim);
      const correction = new Float64Array(rows.length);
      rows.forEach((r, i) => (correction[i] = toFlow(norm, r, z.subarray(i * dim, (i + 1) * dim))));
      const lp = tf.tidy(() => flow.logProb(tf.tensor2d(z, [rows.length, dim])));
      const values = lp.dataSync();
      lp.dispose();
      return Array.from(values, (v, i) => v + correction[i]!);
    },
    dispose: () => flow.dispose(),
  };
}

/** A flow-space row back in data space. */
function toData(norm: Normalisation, z: Float32Array): number[] {
  switch (norm.kind) {
    case "identity":
      return Array.from(z);
    case "standardize":
      return Array.from(z, (v, d) => v * norm.std[d]! + norm.mean[d]!);
    case "logit":
      return Array.from(z, (v) => {
        const p = 1 / (1 + Math.exp(-v));
        return Math.max(0, Math.min(norm.levels, ((p - norm.alpha) / (1 - 2 * norm.alpha)) * norm.levels));
      });
  }
}

/** Writes the flow-space form of a data row into `out`; returns log|det ∂z/∂x| (added to the flow's log-density). */
function toFlow(norm: Normalisation, row: readonly number[], out: Float32Array): number {
  switch (norm.kind) {
    case "identity":
      out.set(row);
      return 0;
    case "standardize": {
      let logDet = 0;
      row.forEach((x, d) => {
        out[d] = (x - norm.mean[d]!) / norm.std[d]!;
        logDet -= Math.log(norm.std[d]!);
      });
      return logDet;
    }
    case "logit": {
      const a = norm.alpha;
      const constant = Math.log(1 - 2 * a) - Math.log(norm.levels);
      let logDet = 0;
      row.forEach((y, d) => {
        const p = a + ((1 - 2 * a) * y) / norm.levels;
        out[d] = Math.log(p) - Math.log1p(-p);
        logDet += constant - Math.log(p) - Math.log1p(-p);
      });
      return logDet;
    }
  }
}
