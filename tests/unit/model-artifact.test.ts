/**
 * The model format (src/models/artifact/): a tiny Transformer and a tiny flow saved and loaded back give the same
 * outputs — through the two files, a folder holding them, and the JSON bundle of a download. The weights are
 * perturbed away from their seeded initial values first, so a loader that rebuilt the model from its seed without
 * assigning the saved weights would fail.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { decodeWeights, encodeWeights, flowFiles, fromBundle, loadModel, toBundle, transformerFiles, type LoadedFlow, type LoadedTransformer } from "../../src/models/artifact/index.js";
import { buildFlow } from "../../src/models/flows/index.js";
import { sampleTokens, TransformerLM } from "../../src/models/transformer/index.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);
const dir = mkdtempSync(path.join(tmpdir(), "model-artifact-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Moves every variable away from its initial value (a seeded rebuild alone then gives other outputs). */
function perturb(variables: tf.Variable[], seed: number): void {
  const rng = new Rng(seed);
  for (const v of variables) tf.tidy(() => v.assign(tf.add(v, tf.tensor(Float32Array.from({ length: v.size }, () => 0.3 * rng.normal()), v.shape))));
}

const info = (architecture: object) => ({ architecture: architecture as Record<string, unknown>, seed: 7, trainConfig: { learningRate: 0.01 }, task: "test-task", metrics: { val_bpc: 1.5 } });

describe("weights.bin", () => {
  it("is float32 little-endian in manifest order, and refuses a file of the wrong size", () => {
    const bytes = encodeWeights([Float32Array.of(1, -2), Float32Array.of(0.5)]);
    expect(bytes.byteLength).toBe(12);
    expect(new DataView(bytes.buffer).getFloat32(4, true)).toBe(-2);
    const specs = [{ name: "a", shape: [2], dtype: "float32" as const }, { name: "b", shape: [1, 1], dtype: "float32" as const }];
    expect([...decodeWeights(bytes, specs).get("b")!.values]).toEqual([0.5]);
    expect(() => decodeWeights(bytes.subarray(0, 8), specs)).toThrow(/too short/);
    expect(() => decodeWeights(bytes, specs.slice(0, 1))).toThrow(/more than its manifest/);
  });
});

describe("a tiny Transformer", () => {
  it("gives the same logits and the same generated text after save and load", async () => {
    const arch = tinyArch({ n_layers: 2, positions: "rotary" }, { attention: "local", window: 4, activation: "swiglu" });
    const vocabulary = ["a", "b", "c", " ", "\n"];
    const model = new TransformerLM(arch, { vocabSize: vocabulary.length, contextLength: 8 }, 7);
    perturb(model.trainableVariables(), 3);
    const tokens = tf.tensor2d([[0, 1, 2, 3, 4, 0, 1, 2]], [1, 8], "int32");
    const before = tf.tidy(() => model.forward(tokens)).arraySync();
    const sampled = sampleTokens(model, [0, 1], 12, { seed: 5, temperature: 0.9 });
    const files = transformerFiles(model, vocabulary, info(arch));
    model.dispose();

    expect(files.manifest).toMatchObject({ format: "nas-model/1", family: "transformer", dims: { vocabSize: 5, contextLength: 8 }, vocabulary, task: "test-task" });
    // Via the JSON bundle a download serves (through its text, as a client stores it) and via a folder of the two files.
    const bundle = JSON.parse(JSON.stringify(toBundle(files)));
    expect(fromBundle(bundle).weights).toEqual(files.weights);
    writeFileSync(path.join(dir, "model.json"), JSON.stringify(files.manifest));
    writeFileSync(path.join(dir, "weights.bin"), files.weights);
    for (const source of [bundle, dir, files]) {
      const loaded = (await loadModel(source)) as LoadedTransformer;
      expect(loaded.family).toBe("transformer");
      const after = tf.tidy(() => loaded.model.forward(tokens)).arraySync();
      expect(after).toEqual(before);
      expect(loaded.generate({ prompt: "ab", maxLength: 12, seed: 5, temperature: 0.9 })).toBe(loaded.decode(sampled));
      expect(() => loaded.encode("abz")).toThrow(/"z" \(at 2\) is not in the model's vocabulary/);
      loaded.dispose();
    }
    tokens.dispose();
  });

  it("with an unknown token (a text dataset's <unk>), unknown characters map to it and it decodes as U+FFFD", async () => {
    const arch = tinyArch();
    const vocabulary = ["<unk>", "a", "b", " "];
    const model = new TransformerLM(arch, { vocabSize: 4, contextLength: 8 }, 1);
    const files = transformerFiles(model, vocabulary, info(arch), 0);
    model.dispose();
    expect(files.manifest).toMatchObject({ vocabulary, unknownToken: 0 });
    const loaded = (await loadModel(JSON.parse(JSON.stringify(toBundle(files))))) as LoadedTransformer;
    expect(loaded.encode("ab☃ z")).toEqual([1, 2, 0, 3, 0]);
    expect(loaded.decode([1, 0, 2])).toBe("a\uFFFDb");
    expect(Array.from(loaded.generate({ prompt: "xyz", maxLength: 6, seed: 1 }))).toHaveLength(6);
    loaded.dispose();
    // A manifest written before unknownToken existed reads as "none".
    const { unknownToken: _u, ...older } = files.manifest as unknown as Record<string, unknown>;
    const old = (await loadModel({ manifest: older, weights: files.weights })) as LoadedTransformer;
    expect(old.manifest.unknownToken).toBeNull();
    expect(() => old.encode("z")).toThrow(/not in the model's vocabulary/);
    old.dispose();
  });

  it("a manifest whose weights do not fit the architecture is refused, naming the weight", async () => {
    const arch = tinyArch();
    const model = new TransformerLM(arch, { vocabSize: 4, contextLength: 8 }, 1);
    const files = transformerFiles(model, ["a", "b", "c", "d"], info(arch));
    model.dispose();
    const wider = { ...files, manifest: { ...files.manifest, architecture: { ...arch, d_model: 32 } } };
    await expect(loadModel(wider)).rejects.toThrow(/shape/);
  });
});

describe("a tiny flow", () => {
  it("gives the same log-densities and samples after save and load, in data units", async () => {
    const arch = { steps: 3, coupling: "affine", scale_bound: "tanh", permutation: "lu", actnorm: true, hidden_width: 8, hidden_depth: 1, activation: "swish", base: "diagonal_gaussian", mask: "half" };
    const input = { dim: 3 };
    const flow = buildFlow(arch, input, 7); // the seed of info(): fixed permutations come from it
    const data = tf.tensor2d(Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)), [20, 3]);
    flow.initialize(data);
    perturb(flow.variables(), 4);
    const normalisation = { kind: "standardize" as const, mean: [1, -2, 0.5], std: [2, 0.5, 1] };
    const rows = [[1, -2, 0.5], [3, -1.5, 0], [-1, -2.5, 2]];
    // The reference in data space: log p(x) = log p_flow((x − mean)/std) − Σ log std.
    const z = rows.map((r) => r.map((x, d) => (x - normalisation.mean[d]!) / normalisation.std[d]!));
    const expected = Array.from(tf.tidy(() => flow.logProb(tf.tensor2d(z))).dataSync(), (v) => v - Math.log(2 * 0.5 * 1));
    const s = flow.sample(4, 9);
    const expectedSamples = (s.arraySync() as number[][]).map((r) => r.map((v, d) => v * normalisation.std[d]! + normalisation.mean[d]!));
    s.dispose();
    const files = flowFiles(flow, input, normalisation, info(arch));
    flow.dispose();
    data.dispose();

    const loaded = (await loadModel(JSON.parse(JSON.stringify(toBundle(files))))) as LoadedFlow;
    expect(loaded.family).toBe("flow");
    const got = loaded.logProb(rows);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    const samples = loaded.sample(4, 9);
    samples.forEach((r, i) => r.forEach((v, d) => expect(v).toBeCloseTo(expectedSamples[i]![d]!, 4)));
    expect(() => loaded.logProb([[1, 2]])).toThrow(/row 0 has 2 values; the model's rows have 3/);
    loaded.dispose();
  });
});
