/**
 * A trained model's two files among an evaluation's artifacts: the `train` evaluator returns `model.json` and
 * `weights.bin` (src/models/artifact/) beside its pictures. The trainer keeps them as weights (db/models.ts), not
 * as files of the trial.
 */
import type { JsonValue } from "../core/json.js";
import type { StoredModelFiles } from "../db/models.js";
import type { Artifact } from "./evaluator.js";
import { MANIFEST_FILE, WEIGHTS_FILE } from "../models/artifact/format.js";

export function splitModelFiles(artifacts: readonly Artifact[]): { model: StoredModelFiles | null; files: Artifact[] } {
  const manifest = artifacts.find((a) => a.name === MANIFEST_FILE);
  const weights = artifacts.find((a) => a.name === WEIGHTS_FILE);
  const files = artifacts.filter((a) => a !== manifest && a !== weights);
  if (!manifest || !weights) return { model: null, files };
  return { model: { manifest: JSON.parse(manifest.data.toString("utf8")) as JsonValue, weights: weights.data }, files };
}
