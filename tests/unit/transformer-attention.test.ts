/** Attention kinds and position schemes: causality, exact mask patterns, linear attention, rotary offsets. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { ATTENTION_KINDS, POSITION_KINDS, TransformerLM, type LayerSpec } from "../../src/models/transformer/index.js";
import { causalLinearAttention, causalLinearAttentionByPosition, naiveLinearAttention } from "../../src/models/transformer/index.js";
import { allowedPattern } from "../../src/models/transformer/index.js";
import { applyRotary, rotaryTables } from "../../src/models/transformer/index.js";
import { Rng } from "../../src/core/rng.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const T = 12;
const V = 11;

function layerFor(kind: (typeof ATTENTION_KINDS)[number]): Partial<LayerSpec> {
  return kind === "local" ? { attention: kind, window: 3 } : kind === "strided" ? { attention: kind, stride: 4 } : { attention: kind };
}

function randomTokens(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(V));
}

describe("causality: changing tokens after position t changes no output at or before t", () => {
  for (const positions of POSITION_KINDS) {
    for (const kind of ATTENTION_KINDS) {
      it(`${kind} attention, ${positions} positions`, () => {
        const model = new TransformerLM(tinyArch({ n_layers: 2, positions }, layerFor(kind)), { vocabSize: V, contextLength: T }, 5);
        const rng = new Rng(9);
        const base = randomTokens(rng, T);
        const ref = tf.tidy(() => model.forward(tf.tensor2d([base], [1, T], "int32")).arraySync()) as number[][];
        for (const t of [0, 4, T - 2]) {
          const changed = [...base.slice(0, t + 1), ...randomTokens(rng, T - t - 1).map((x, i) => (x + 1 + i) % V)];
          const out = tf.tidy(() => model.forward(tf.tensor2d([changed], [1, T], "int32")).arraySync()) as number[][];
          for (let i = 0; i <= t; i++) for (let v = 0; v < V; v++) expect(out[i]![v]).toBeCloseTo(ref[i]![v]!, 5);
          // and the change does reach some later position
          let diff = 0;
          for (let i = t + 1; i < T; i++) for (let v = 0; v < V; v++) diff = Math.max(diff, Math.abs(out[i]![v]! - ref[i]![v]!));
          expect(diff).toBeGreaterThan(1e-6);
        }
        model.dispose();
      });
    }
  }
});

describe("mask patterns allow exactly the intended keys", () => {
  const allowedKeys = (m: Float32Array, n: number, i: number) => Array.from({ length: n }, (_, j) => j).filter((j) => m[i * n + j] === 1);

  it("full: every key up to the query", () => {
    const m = allowedPattern({ attention: "full" }, 8);
    for (let i = 0; i < 8; i++) expect(allowedKeys(m, 8, i)).toEqual(Array.from({ length: i + 1 }, (_, j) => j));
  });

  it("local window 3: the query and the 2 before it", () => {
    const m = allowedPattern({ attention: "local", window: 3 }, 8);
    expect(allowedKeys(m, 8, 0)).toEqual([0]);
    expect(allowedKeys(m, 8, 1)).toEqual([0, 1]);
    expect(allowedKeys(m, 8, 5)).toEqual([3, 4, 5]);
    expect(allowedKeys(m, 8, 7)).toEqual([5, 6, 7]);
  });

  it("strided, stride 4: the 3 previous positions and every 4th one before (Child et al. 2019)", () => {
    const m = allowedPattern({ attention: "strided", stride: 4 }, 16);
    expect(allowedKeys(m, 16, 2)).toEqual([0, 1, 2]);
    expect(allowedKeys(m, 16, 13)).toEqual([1, 5, 9, 10, 11, 12, 13]);
    expect(allowedKeys(m, 16, 15)).toEqual([3, 7, 11, 12, 13, 14, 15]);
  });

  it("the built local model ignores keys outside its window", () => {
    // One local layer with window 3 and no positions that leak: output at i depends only on tokens i−2..i.
    const model = new TransformerLM(tinyArch({ positions: "alibi" }, { attention: "local", window: 3 }), { vocabSize: V, contextLength: T }, 3);
    const rng = new Rng(4);
    const base = randomTokens(rng, T);
    const changed = [...base];
    changed[2] = (changed[2]! + 1) % V; // outside the window of position 8
    const [a, b] = [base, changed].map((toks) => tf.tidy(() => model.forward(tf.tensor2d([toks], [1, T], "int32")).arraySync()) as number[][]);
    for (let v = 0; v < V; v++) expect(b![8]![v]).toBeCloseTo(a![8]![v]!, 6);
    expect(Math.abs(b![3]![0]! - a![3]![0]!)).toBeGreaterThan(1e-7); // inside the window of position 3
    model.dispose();
  });
});

describe("linear attention", () => {
  it("equals its naive quadratic form with the same feature map, chunked (C = 1, 3, 4, 12) or per position", () => {
    const rng = new Rng(2);
    const rand = (shape: [number, number, number]) => tf.tensor3d(Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.normal()), shape);
    const [q, k, v] = [rand([3, 12, 4]), rand([3, 12, 4]), rand([3, 12, 4])];
    const naive = naiveLinearAttention(q, k, v).arraySync();
    const forms = [1, 3, 4, 12].map((c) => causalLinearAttention(q, k, v, c)).concat([causalLinearAttentionByPosition(q, k, v)]);
    for (const form of forms) form.arraySync().forEach((row, n) => row.forEach((r, t) => r.forEach((x, c) => expect(x).toBeCloseTo(naive[n]![t]![c]!, 4))));
    tf.dispose([q, k, v, ...forms]);
  });

  it("has correct gradients across chunks (finite differences; cumsum only along the last axis)", () => {
    const rng = new Rng(5);
    const x0 = Float32Array.from({ length: 2 * 6 * 4 }, () => rng.normal());
    const w = tf.tensor3d(Float32Array.from({ length: 2 * 6 * 4 }, () => rng.normal()), [2, 6, 4]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(w, causalLinearAttention(t as tf.Tensor3D, tf.mul(t, 0.5) as tf.Tensor3D, tf.neg(t) as tf.Tensor3D, 2)));
    const g = tf.grad(f)(tf.tensor3d(x0, [2, 6, 4])).dataSync();
    const at = (i: number, delta: number) => {
      const x = x0.slice();
      x[i] = x[i]! + delta;
      return tf.tidy(() => f(tf.tensor3d(x, [2, 6, 4])).dataSync()[0]!);
    };
    for (const i of [0, 5, 17, 30, 47]) {
      const numeric = (at(i, 1e-2) - at(i, -1e-2)) / 2e-2;
      expect(Math.abs(numeric - g[i]!)).toBeLessThan(5e-3 + 0.02 * Math.abs(g[i]!));
    }
    w.dispose();
  });
});

describe("rotary embeddings", () => {
  it("make q·k depend only on the offset between positions", () => {
    const hd = 8;
    const n = 16;
    const tables = rotaryTables(n, hd);
    const rng = new Rng(7);
    const qv = Array.from({ length: hd }, () => rng.normal());
    const kv = Array.from({ length: hd }, () => rng.normal());
    // the same q at every position, the same k at every position
    const q = tf.tensor3d([Array.from({ length: n }, () => qv)]);
    const k = tf.tensor3d([Array.from({ length: n }, () => kv)]);
    const scores = (tf.matMul(applyRotary(q, tables), applyRotary(k, tables), false, true) as tf.Tensor3D).arraySync()[0]!; // [n, n]
    for (const offset of [0, 1, 3, 7]) {
      const ref = scores[offset]![0]!;
      for (let j = 0; j + offset < n; j++) expect(scores[j + offset]![j]).toBeCloseTo(ref, 4);
    }
    // and it does depend on the offset
    expect(Math.abs(scores[1]![0]! - scores[0]![0]!)).toBeGreaterThan(1e-4);
    tf.dispose([q, k, tables.cos, tables.sin, tables.rotateHalf]);
  });
});
