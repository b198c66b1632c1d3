/** DARTS mixed operations and the Transformer supernet: one-hot α reproduces the chosen op exactly; gradients reach α and weights. */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { MixedOp, TransformerSupernet } from "../../src/models/supernet/index.js";
import { FeedForward, LinearAttention, noneOp, SoftmaxAttention, TransformerLM, type SequenceContext, type SequenceOp } from "../../src/models/transformer/index.js";
import { ConstantCache } from "../../src/models/transformer/index.js";
import { ParamStore } from "../../src/models/transformer/index.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

function context(B: number, T: number, constants: ConstantCache): SequenceContext {
  return { batch: B, seqLen: T, training: false, positions: "learned", constants, dropout: (x) => x };
}

describe("MixedOp", () => {
  it("with one-hot α equals the chosen candidate exactly, `none` included", () => {
    const params = new ParamStore(3);
    const sizes = { d: 16, nHeads: 2, nLayers: 1 };
    const ops: SequenceOp[] = [
      new SoftmaxAttention(params, "full", { attention: "full", activation: "relu" }, sizes),
      new SoftmaxAttention(params, "local", { attention: "local", window: 4, activation: "relu" }, sizes),
      new LinearAttention(params, "linear", { attention: "linear", activation: "relu" }, sizes),
      new FeedForward(params, "ffn", { d: 16, hidden: 32, activation: "swiglu", nLayers: 1 }),
      noneOp,
    ];
    const options = ["full", "local", "linear", "swiglu", "none"];
    const mixed = new MixedOp("test", options, ops);
    const constants = new ConstantCache();
    const ctx = context(2, 8, constants);
    const x = tf.randomNormal([16, 16], 0, 1, "float32", 5) as tf.Tensor2D;
    options.forEach((option, k) => {
      mixed.fixTo(option);
      expect(mixed.probabilities()[option]).toBe(1);
      const [got, want] = tf.tidy(() => [mixed.apply(x, ctx).dataSync(), ops[k]!.apply(x, ctx).dataSync()]);
      expect(Array.from(got!)).toEqual(Array.from(want!));
    });
    // Uniform α: the plain average of the candidates.
    mixed.setAlpha([0, 0, 0, 0, 0]);
    const [avg, ref] = tf.tidy(() => [mixed.apply(x, ctx).dataSync(), tf.div(tf.addN(ops.map((o) => o.apply(x, ctx))), 5).dataSync()]);
    Array.from(avg!).forEach((v, i) => expect(v).toBeCloseTo(ref![i]!, 5));
    tf.dispose(x);
    mixed.dispose();
    params.dispose();
    constants.dispose();
  });

  it("a supernet fixed to one candidate per decision computes the same logits as that TransformerLM", () => {
    const vocab = { vocabSize: 11, contextLength: 8 };
    const arch = tinyArch({ n_layers: 2, positions: "rotary" }, { attention: "local", window: 4, activation: "gelu" });
    arch.layers[1] = { attention: "linear", activation: "swiglu" };
    const net = new TransformerSupernet(arch, vocab, 1, { window: 4 });
    const lm = new TransformerLM(arch, vocab, 2);
    net.attention[0]!.fixTo("local");
    net.feedForward[0]!.fixTo("gelu");
    net.attention[1]!.fixTo("linear");
    net.feedForward[1]!.fixTo("swiglu");
    // Copy the chosen candidates' weights into the plain model: layers.0.attn.q.w ← layers.0.attn.local.q.w, …
    const kinds = [
      ["local", "gelu"],
      ["linear", "swiglu"],
    ];
    for (const [name, v] of lm.params.entries()) {
      const src = name.replace(/^layers\.(\d+)\.(attn|ffn)\./, (_m, i: string, part: string) => `layers.${i}.${part}.${kinds[Number(i)]![part === "attn" ? 0 : 1]}.`);
      v.assign(net.params.get(src));
    }
    const tokens = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4, 5], [2, 8], "int32");
    const [a, b] = tf.tidy(() => [net.forward(tokens).dataSync(), lm.forward(tokens).dataSync()]);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    tokens.dispose();
    net.dispose();
    lm.dispose();
  });

  it("gradients of the loss reach every α and every weight, through separate variable lists", () => {
    const net = new TransformerSupernet(tinyArch({ n_layers: 2 }), { vocabSize: 9, contextLength: 8 }, 4, { window: 4, stride: 4 });
    expect(net.alphaVariables()).toHaveLength(4);
    const weightNames = new Set(net.weightVariables().map((v) => v.name));
    for (const a of net.alphaVariables()) expect(weightNames.has(a.name)).toBe(false);
    expect(Object.keys(net.alphas())).toEqual(["layers[0].attention", "layers[0].activation", "layers[1].attention", "layers[1].activation"]);
    expect(Object.keys(net.alphas()["layers[0].attention"]!)).toEqual(["full", "local", "strided", "linear", "none"]);

    const tokens = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1], [2, 8], "int32");
    const targets = tf.tensor2d([2, 3, 4, 5, 6, 7, 8, 0, 7, 6, 5, 4, 3, 2, 1, 0], [2, 8], "int32");
    const vars = [...net.weightVariables(), ...net.alphaVariables()];
    const { value, grads } = tf.variableGrads(() => net.loss(tokens, targets), vars);
    for (const v of vars) {
      const g = grads[v.name];
      expect(g, v.name).toBeDefined();
      const norm = tf.tidy(() => tf.norm(g!).dataSync()[0]!);
      expect(norm, v.name).toBeGreaterThan(0);
      expect(Number.isFinite(norm)).toBe(true);
    }
    // The α gradient of a decision sums to zero (softmax is shift-invariant).
    const g0 = grads[net.alphaVariables()[0]!.name]!.dataSync();
    expect(Array.from(g0).reduce((s, x) => s + x, 0)).toBeCloseTo(0, 5);
    tf.dispose([value, tokens, targets]);
    tf.dispose(grads);
    net.dispose();
  });
});
