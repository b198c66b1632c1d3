/** Building from the space: parameter formula, FLOPs, every sampled architecture trains a step; gradient check. */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { activeParameterCount, flopsPerToken, noneOp, parameterCount, parseArchitecture, TransformerLM, type SequenceContext } from "../../src/models/transformer/index.js";
import { ConstantCache } from "../../src/models/transformer/index.js";
import { FeedForward } from "../../src/models/transformer/index.js";
import { ParamStore } from "../../src/models/transformer/index.js";
import { layerNorm } from "../../src/models/transformer/index.js";
import { gelu } from "../../src/models/transformer/index.js";
import { Rng } from "../../src/core/rng.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));

describe("the transformer-lm space", () => {
  it("has family transformer and every sample parses as an architecture", () => {
    expect(space.family).toBe("transformer");
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) expect(() => parseArchitecture(space.sample(rng))).not.toThrow();
  });

  it("rejects widths not divisible by the heads and head sizes below 8", () => {
    const arch = space.sample(new Rng(2));
    expect(space.isValid({ ...arch, d_model: 32, n_heads: 8 })).toBe(false);
    expect(space.isValid({ ...arch, d_model: 96, n_heads: 8 })).toBe(true);
  });
});

describe("parameter count", () => {
  it("the formula equals the built model's trainable count for a sample of the space; one training step runs", () => {
    const rng = new Rng(42);
    const dims = { vocabSize: 23, contextLength: 16 };
    for (let i = 0; i < 12; i++) {
      const arch = parseArchitecture(space.sample(rng));
      const model = new TransformerLM(arch, dims, i);
      expect(model.parameterCount()).toBe(parameterCount(arch, dims));
      // 2 FLOPs per weight a token is computed with (mixture of experts: the active ones, activeParameterCount).
      expect(flopsPerToken(arch, dims)).toBeGreaterThan(2 * activeParameterCount(arch, dims) - 2 * dims.contextLength * arch.d_model);
      const tokens = tf.tensor2d(Array.from({ length: 32 }, (_, j) => (j * 7) % 23), [2, 16], "int32");
      const { value, grads } = tf.variableGrads(() => model.loss(tokens, tokens, { training: true, step: 1 }), model.trainableVariables());
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      expect(Object.keys(grads).length).toBe(model.trainableVariables().length);
      tf.dispose([value, tokens, ...Object.values(grads)]);
      model.dispose();
    }
  });

  it("matches hand counts for nanoGPT's baby GPT layout", () => {
    const arch = tinyArch({ n_layers: 4, d_model: 128, n_heads: 4, ff_mult: 4 });
    const dims = { vocabSize: 65, contextLength: 64 };
    const d = 128;
    const perLayer = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
    expect(parameterCount(arch, dims)).toBe(65 * d + 64 * d + 4 * perLayer + 2 * d);
  });
});

describe("interchangeable ops", () => {
  it("a softmax-weighted mix of a feed-forward op and `none` has the SequenceOp signature", () => {
    const params = new ParamStore(1);
    const ffn = new FeedForward(params, "ffn", { d: 8, hidden: 16, activation: "swiglu", nLayers: 1 });
    const constants = new ConstantCache();
    const ctx: SequenceContext = { batch: 2, seqLen: 3, training: false, positions: "learned", dropout: (x) => x, constants };
    const x = tf.randomNormal([6, 8], 0, 1, "float32", 3) as tf.Tensor2D;
    const weights = tf.softmax(tf.tensor1d([0.3, -0.2])).arraySync();
    const mixed = tf.addN([tf.mul(ffn.apply(x, ctx), weights[0]!), tf.mul(noneOp.apply(x, ctx), weights[1]!)]);
    expect(mixed.shape).toEqual([6, 8]);
    params.dispose();
    constants.dispose();
  });
});

describe("hand-written gradients equal autodiff of the plain formulas", () => {
  const rng = new Rng(11);
  const rand = (shape: number[], scale = 1) => tf.tensor(Float32Array.from({ length: shape.reduce((p, s) => p * s, 1) }, () => scale * rng.normal()), shape);
  const close = (a: tf.Tensor, b: tf.Tensor) => {
    const [x, y] = [a.dataSync(), b.dataSync()];
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i]!, 4);
  };

  it("LayerNorm", () => {
    const [x, g, b, w] = [rand([5, 6]), rand([6], 0.5), rand([6], 0.5), rand([5, 6])];
    const plain = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, -1, true);
      return tf.sum(tf.mul(w, tf.add(tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, 1e-5))), gg), bb)));
    };
    const custom = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(w, layerNorm(xx as tf.Tensor2D, gg, bb)));
    const want = tf.grads(plain)([x, g, b]);
    const got = tf.grads(custom)([x, g, b]);
    want.forEach((t, i) => close(got[i]!, t));
  });

  it("GELU", () => {
    const [x, w] = [rand([4, 7], 2), rand([4, 7])];
    const c = Math.sqrt(2 / Math.PI);
    const plain = (xx: tf.Tensor) => tf.sum(tf.mul(w, tf.mul(tf.mul(xx, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(xx, tf.mul(tf.pow(xx, 3), 0.044715)), c))))));
    const custom = (xx: tf.Tensor) => tf.sum(tf.mul(w, gelu(xx as tf.Tensor2D)));
    close(tf.grad(custom)(x), tf.grad(plain)(x));
    close(custom(x), plain(x));
  });
});

describe("gradient check by finite differences", () => {
  it("autodiff gradients match central differences on a tiny model", () => {
    for (const variant of [
      tinyArch({ d_model: 8, n_heads: 2, ff_mult: 1, positions: "rotary", norm: "rmsnorm" }, { attention: "full", activation: "swiglu" }),
      tinyArch({ d_model: 8, n_heads: 1, ff_mult: 1, positions: "alibi", norm: "post_ln" }, { attention: "linear", activation: "gelu" }),
    ]) {
      const model = new TransformerLM(variant, { vocabSize: 5, contextLength: 6 }, 3);
      // Larger weights than the 0.02 init so the check is not dominated by float32 rounding.
      const rng = new Rng(8);
      for (const v of model.trainableVariables()) tf.tidy(() => v.assign(tf.add(v, tf.tensor(Float32Array.from({ length: v.size }, () => 0.3 * rng.normal()), v.shape))));
      const tokens = tf.tensor2d([[0, 1, 2, 3, 4, 0], [4, 3, 2, 1, 0, 1]], [2, 6], "int32");
      const targets = tf.tensor2d([[1, 2, 3, 4, 0, 2], [3, 2, 1, 0, 1, 4]], [2, 6], "int32");
      const f = () => model.loss(tokens, targets);
      const { grads } = tf.variableGrads(f, model.trainableVariables());
      const eps = 1e-2;
      let checked = 0;
      for (const v of model.trainableVariables()) {
        const g = grads[v.name]!.dataSync();
        const base = v.dataSync().slice();
        for (const idx of [0, Math.floor(v.size / 2), v.size - 1]) {
          const at = (delta: number) => {
            const w = base.slice();
            w[idx] = base[idx]! + delta;
            v.assign(tf.tensor(w, v.shape));
            return tf.tidy(() => f().dataSync()[0]!);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(base, v.shape));
          expect(Math.abs(numeric - g[idx]!)).toBeLessThan(2e-3 + 0.05 * Math.abs(g[idx]!));
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(30);
      tf.dispose([tokens, targets, ...Object.values(grads)]);
      model.dispose();
    }
  });
});
