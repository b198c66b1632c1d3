/**
 * The train evaluator on uploaded datasets, in process: the dataset's kind decides the task, the model's manifest
 * carries the dataset's identity, a text model's vocabulary is the training split's plus `<unk>`, a vectors flow
 * scores in the data's own units (the standardisation's log-det), an images flow reports bits per dimension.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { datasetIdOf, type DatasetKind, type DatasetSource } from "../../src/datasets/index.js";
import type { EvaluationContext, EvaluationRequest } from "../../src/evaluators/evaluator.js";
import { runFlowTrial } from "../../src/evaluators/train-flow.js";
import { runTransformerTrial } from "../../src/evaluators/train-transformer.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { testConfig } from "../setup/env.js";
import { makeCorpus, makeIdxImages, makeVectorsCsv } from "../setup/datasets.js";
import { useWasm } from "./flows-helpers.js";

beforeAll(useWasm);

const dir = mkdtempSync(path.join(os.tmpdir(), "nas-datasets-train-"));
function source(kind: DatasetKind, body: Uint8Array): DatasetSource {
  const id = datasetIdOf(kind, body);
  const file = path.join(dir, `${id}.${kind}`);
  writeFileSync(file, body);
  return { id, kind, sha256: `sha256-of-${id}`, path: file, splitSeed: 3 };
}

const ctx = (): EvaluationContext => ({ reportProgress: () => {}, shouldStop: () => false, log: () => {} });
const manifestOf = (artifacts: Array<{ name: string; data: Buffer }> | undefined) => JSON.parse(artifacts!.find((a) => a.name === "model.json")!.data.toString("utf8"));
const spaces = SpaceRegistry.fromDirectory(testConfig().SEARCH_SPACES_DIR);

function request(spaceId: string, architecture: Record<string, unknown>, config: Record<string, unknown>, metric: string, dataset: DatasetSource): EvaluationRequest {
  return { trialId: "t", searchId: "s", attempt: 1, space: spaces.get(spaceId)!, architecture: architecture as never, config, objective: { metric, direction: "minimize" }, seed: 7, dataset };
}

const flowArch = { steps: 2, coupling: "affine", scale_bound: "tanh", permutation: "reverse", actnorm: true, hidden_width: 16, hidden_depth: 1, activation: "relu", base: "standard_normal" };

describe("train on a dataset", () => {
  it("text: a character LM of the dataset's own vocabulary and identity", async () => {
    const src = source("text", Buffer.from(makeCorpus(2, 200)));
    const arch = { n_layers: 1, d_model: 32, n_heads: 2, ff_mult: 2, positions: "learned", norm: "pre_ln", dropout: 0, layers: [{ attention: "full", activation: "gelu" }] };
    const r = await runTransformerTrial(request("transformer-lm", arch, { budget: { steps: 4 }, batchSize: 2, contextLength: 16, evalSequences: 4, sampleLength: 10 }, "val_bpc", src), ctx());
    expect(typeof r.metrics.val_bpc).toBe("number");
    const manifest = manifestOf(r.artifacts);
    expect(manifest.task).toBe(`charlm:${src.id}`);
    expect(manifest.datasetSha256).toBe(src.sha256);
    expect(manifest.vocabulary.at(-1)).toBe("<unk>");
    expect(manifest.vocabulary).not.toContain("\u00e9"); // a Moby-Dick character this corpus lacks
    expect(manifest.dims.vocabSize).toBe(manifest.vocabulary.length);
  }, 60_000);

  it("vectors: test_nll in the data's units — shifting and scaling the data by s adds D·log s", async () => {
    const { rows } = makeVectorsCsv(3, { rows: 400, dim: 2 });
    const csv = (scale: number) => rows.map((r) => r.map((v) => (v * scale).toFixed(8)).join(",")).join("\n");
    const config = { budget: { steps: 5 }, batchSize: 64, samples: 10 };
    const unit = await runFlowTrial(request("flow-2d", { ...flowArch, mask: "half" }, config, "test_nll", source("vectors", Buffer.from(csv(1)))), ctx());
    const scaled = await runFlowTrial(request("flow-2d", { ...flowArch, mask: "half" }, config, "test_nll", source("vectors", Buffer.from(csv(10)))), ctx());
    // Standardisation makes both trainings the same up to float rounding; the NLL differs by the Jacobian 2·log 10.
    expect((scaled.metrics.test_nll as number) - (unit.metrics.test_nll as number)).toBeCloseTo(2 * Math.log(10), 2);
    const manifest = manifestOf(unit.artifacts);
    expect(manifest.task).toMatch(/^vectors:ds_/);
    expect(manifest.normalisation.kind).toBe("standardize");
    expect(manifest.normalisation.mean[0]).toBeGreaterThan(90);
    expect(unit.metrics.task).toBe(manifest.task);
  }, 60_000);

  it("images: dequantised like MNIST, bits per dimension, the image shape kept", async () => {
    const src = source("images", makeIdxImages(4, 40, 4, 4));
    const r = await runFlowTrial(request("flow-mnist", { ...flowArch, mask: "checkerboard" }, { budget: { steps: 3 }, batchSize: 16 }, "bits_per_dim", src), ctx());
    expect(r.metrics.bits_per_dim).toBeCloseTo((r.metrics.test_nll as number) / (16 * Math.LN2), 9);
    expect(r.metrics.bits_per_dim).toBeGreaterThan(0);
    const manifest = manifestOf(r.artifacts);
    expect(manifest.input).toEqual({ dim: 16, image: { height: 4, width: 4 } });
    expect(manifest.normalisation.kind).toBe("logit");
    expect(r.artifacts!.some((a) => a.name === "samples.png")).toBe(true);
  }, 60_000);
});
