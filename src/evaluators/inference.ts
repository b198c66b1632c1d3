/**
 * Answering a quick check with a trained model (POST /v1/models/:id/generate, /sample, /log-prob): the model's
 * files loaded with `loadModel` (src/models/artifact/), and one request answered in the data's own units. The
 * trainer (src/trainer/inference.ts) serves the queue and keeps the last models it loaded.
 */
import { loadModel, type LoadedModel } from "../models/artifact/index.js";

export type { LoadedModel };
export type InferenceOp = "generate" | "sample" | "log-prob";
/** The result, or why the request cannot be answered with this model (a client's mistake: a 400). */
export type InferenceOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; error: string };

export function loadModelFiles(manifest: unknown, weights: Uint8Array): Promise<LoadedModel> {
  return loadModel({ manifest, weights });
}

export function answer(model: LoadedModel, op: InferenceOp, input: Record<string, unknown>): InferenceOutcome {
  const seed = typeof input.seed === "number" ? input.seed : 0;
  try {
    if (op === "generate") {
      if (model.family !== "transformer") return { ok: false, error: "not a language model" };
      const text = model.generate({ prompt: String(input.prompt ?? ""), maxLength: Number(input.maxLength), temperature: Number(input.temperature ?? 1), seed });
      return { ok: true, result: { text } };
    }
    if (model.family !== "flow") return { ok: false, error: "not a flow" };
    if (op === "sample") {
      const samples = model.sample(Number(input.n), seed);
      const image = model.manifest.input.image;
      return { ok: true, result: image ? { images: samples, shape: [image.height, image.width] } : { points: samples } };
    }
    return { ok: true, result: { logProb: model.logProb(input.rows as number[][]) } };
  } catch (err) {
    // An input the model cannot take (a character outside its vocabulary, a row of the wrong width).
    if (err instanceof RangeError) return { ok: false, error: err.message };
    throw err;
  }
}
