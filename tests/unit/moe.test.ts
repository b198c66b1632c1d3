/**
 * Mixture-of-experts feed-forward layers (src/models/transformer/moe.ts) on the wasm backend: gradients against
 * finite differences for both routings, causality (a token's output ignores later tokens), capacity and dropped
 * tokens, the Switch load-balancing loss on a known routing, and the analytic counts.
 */
import * as tf from "@tensorflow/tfjs-core";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import {
  activeParameterCount,
  ConstantCache,
  expertCapacity,
  expertChoiceRouting,
  loadBalancingLoss,
  MixtureOfExperts,
  parameterCount,
  ParamStore,
  parseArchitecture,
  tokenChoiceRouting,
  TransformerLM,
  type MoeRouting,
  type SequenceContext,
} from "../../src/models/transformer/index.js";
import { routingMetrics } from "../../src/evaluators/train-transformer.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { tinyArch, useWasm } from "./transformer-helpers.js";

beforeAll(useWasm);

function context(B: number, T: number, addLoss?: (l: tf.Scalar) => void): SequenceContext {
  return { batch: B, seqLen: T, training: false, positions: "learned", constants: new ConstantCache(), dropout: (x) => x, ...(addLoss ? { addLoss } : {}) };
}

/** Random values of scale `std` for every variable (the 0.02 init would drown the check in float32 rounding). */
function perturb(params: ParamStore, rng: Rng, std: number): void {
  for (const v of params.variables()) tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => std * rng.normal()), v.shape)));
}

describe("the transformer-lm decisions", () => {
  const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));

  it("never proposes a meaningless combination, and every proposal parses", () => {
    const rng = new Rng(21);
    const kinds = new Set<unknown>();
    for (let i = 0; i < 300; i++) {
      const a = i % 2 === 0 ? space.sample(rng) : space.mutate(space.sample(rng), rng).architecture;
      kinds.add(a.feed_forward);
      if (a.feed_forward === "dense") expect([a.experts, a.top_k, a.capacity_factor]).toEqual([undefined, undefined, undefined]);
      if (a.feed_forward === "moe-expert-choice") expect(a.top_k).toBeUndefined();
      if (a.feed_forward !== "dense") expect([4, 8]).toContain(a.experts);
      expect(() => parseArchitecture(a)).not.toThrow();
    }
    expect(kinds).toEqual(new Set(["dense", "moe-token-choice", "moe-expert-choice"]));
  });

  it("an architecture without feed_forward is dense: valid, and hashed like the one that says so", () => {
    const dense = space.canonical({ ...space.sample(new Rng(3)), feed_forward: "dense" });
    const { feed_forward: _omitted, ...old } = dense;
    expect(space.isValid(old)).toBe(true);
    expect(space.hash(old)).toBe(space.hash(dense));
    // The parser refuses what the space never proposes.
    expect(() => parseArchitecture({ ...dense, experts: 4 })).toThrow(/mixture-of-experts/);
    expect(() => parseArchitecture({ ...dense, feed_forward: "moe-expert-choice", experts: 4, capacity_factor: 1, top_k: 1 })).toThrow(/token-choice/);
  });
});

describe("routing", () => {
  it("token choice seats first choices by probability up to the capacity and drops the rest", () => {
    // B = 4 sequences, T = 1, E = 2, k = 1, capacity factor 1: C = ⌈1 · 1 · 4 / 2⌉ = 2 slots per expert.
    const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4]); // every token prefers expert 0
    const r = tokenChoiceRouting(probs, 4, 1, 2, 1, 1.0);
    expect(Array.from(r.tokens[0]!)).toEqual([0, 1]); // the two most confident
    expect(Array.from(r.tokens[1]!)).toEqual([]);
    expect(r.dropped).toBe(2);
    // Capacity factor 2: C = 4, nobody dropped.
    expect(tokenChoiceRouting(probs, 4, 1, 2, 1, 2.0).dropped).toBe(0);
    // k = 2: second choices fill expert 1; C = ⌈1 · 2 · 4 / 2⌉ = 4.
    const k2 = tokenChoiceRouting(probs, 4, 1, 2, 2, 1.0);
    expect(Array.from(k2.tokens[0]!)).toEqual([0, 1, 2, 3]);
    expect(Array.from(k2.tokens[1]!)).toEqual([0, 1, 2, 3]);
    expect(k2.dropped).toBe(0);
  });

  it("groups are the tokens at one position: capacity is per position, not per sequence", () => {
    // B = 2, T = 2, E = 2: tokens n = b·T + t; all prefer expert 1; C = ⌈1.0 · 2 / 2⌉ = 1 per position.
    const probs = Float32Array.from([0.2, 0.8, 0.4, 0.6, 0.3, 0.7, 0.1, 0.9]);
    const r = tokenChoiceRouting(probs, 2, 2, 2, 1, 1.0);
    expect(Array.from(r.tokens[1]!)).toEqual([0, 3]); // t = 0: token 0 (0.8 > 0.7); t = 1: token 3 (0.9 > 0.6)
    expect(r.dropped).toBe(2);
  });

  it("expert choice gives each expert its c best tokens of the group, c = ⌈G · capacity / E⌉", () => {
    expect(expertCapacity(8, 4, 1, 1.25)).toBe(3);
    expect(expertCapacity(4, 2, 1, 1.0)).toBe(2);
    const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4]); // B = 4, T = 1, E = 2
    const r = expertChoiceRouting(probs, 4, 1, 2, 1.0);
    expect(Array.from(r.tokens[0]!)).toEqual([0, 1]);
    expect(Array.from(r.tokens[1]!)).toEqual([2, 3]);
    expect(r.dropped).toBe(0);
    // Capacity 0.5: c = 1 each: tokens 0 (expert 0) and 3 (expert 1); 1 and 2 pass through the residual.
    const half = expertChoiceRouting(probs, 4, 1, 2, 0.5);
    expect(half.dropped).toBe(2);
    expect(Array.from(half.tokens[1]!)).toEqual([3]);
  });

  it("a dropped token's output is zero, so the block passes it through the residual only", () => {
    const params = new ParamStore(1);
    const moe = new MixtureOfExperts(params, "moe", { d: 4, hidden: 4, activation: "relu", nLayers: 1, routing: "token-choice", experts: 2, topK: 1, capacityFactor: 1.0 });
    perturb(params, new Rng(3), 0.5);
    const router = params.variables().find((v) => v.name.includes("router"))!;
    router.assign(tf.tensor2d([[0.5, -0.5], [0, 0], [0, 0], [0, 0]])); // p₀ = σ(x₀): every token prefers expert 0
    const x = tf.tensor2d([[1, 0.1, 0.2, 0.3], [2, 0.3, 0.2, 0.1], [3, -0.1, 0.5, 0.2], [4, 0.4, -0.3, 0.1]]); // B = 4, T = 1
    const y = moe.apply(x, context(4, 1)).arraySync();
    // Capacity 2 of expert 0 goes to the two most confident tokens (x₀ = 4 and 3); tokens 0 and 1 are dropped.
    expect(y[0]).toEqual([0, 0, 0, 0]);
    expect(y[1]).toEqual([0, 0, 0, 0]);
    expect(y[3]!.some((v) => v !== 0)).toBe(true);
    expect(moe.stats.dropped).toBe(2);
    expect(moe.stats.load()).toEqual([1, 0]);
    params.dispose();
  });
});

describe("routing metrics", () => {
  it("expert_load is the mean share over layers; max load and CV say how unbalanced", () => {
    const m = routingMetrics({ expertLoad: [[0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]], droppedFraction: 0.1 });
    expect(m.expert_load).toEqual([0.375, 0.375, 0.125, 0.125]);
    expect(m.expert_load_max).toBe(2); // 0.5 × 4 in the first layer
    expect(m.expert_load_cv).toBe(0.5); // 1 (first layer) and 0 (second), averaged
    expect(m.dropped_fraction).toBe(0.1);
  });
});

describe("the Switch load-balancing loss", () => {
  it("is E · Σ f_e · P_e on a known routing", () => {
    // k = 1: choices [0, 0, 1] → f = [2/3, 1/3]; P = mean probs = [2/3, 1/3]; loss = 2 · (4/9 + 1/9) = 10/9.
    const probs = tf.tensor2d([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6]]);
    const chosen = Float32Array.from([1, 0, 1, 0, 0, 1]);
    expect(loadBalancingLoss(probs, chosen, 1).dataSync()[0]).toBeCloseTo(10 / 9, 5);
    // Uniform probabilities: 1 whatever the choices.
    expect(loadBalancingLoss(tf.fill([3, 2], 0.5) as tf.Tensor2D, chosen, 1).dataSync()[0]).toBeCloseTo(1, 6);
    // k = 2 with E = 2: every token chooses both, f = [1/2, 1/2] → loss = 2 · (1/2 · 2/3 + 1/2 · 1/3) = 1.
    expect(loadBalancingLoss(probs, Float32Array.from([1, 1, 1, 1, 1, 1]), 2).dataSync()[0]).toBeCloseTo(1, 5);
  });

  it("the layer hands it to the model for token choice only", () => {
    for (const routing of ["token-choice", "expert-choice"] as const) {
      const params = new ParamStore(2);
      const moe = new MixtureOfExperts(params, "moe", { d: 4, hidden: 4, activation: "gelu", nLayers: 1, routing, experts: 2, topK: 1, capacityFactor: 1.0 });
      const losses: tf.Scalar[] = [];
      moe.apply(tf.randomNormal([6, 4], 0, 1, "float32", 5) as tf.Tensor2D, context(3, 2, (l) => losses.push(l)));
      expect(losses.length).toBe(routing === "token-choice" ? 1 : 0);
      if (routing === "token-choice") expect(losses[0]!.dataSync()[0]).toBeGreaterThanOrEqual(1 - 1e-6); // ≥ 1, equal when balanced
      params.dispose();
    }
  });
});

describe("gradients on wasm match finite differences", () => {
  const cases: { routing: MoeRouting; topK: number; capacity: number }[] = [
    { routing: "token-choice", topK: 1, capacity: 1.0 },
    { routing: "token-choice", topK: 2, capacity: 1.25 },
    { routing: "expert-choice", topK: 1, capacity: 1.25 },
  ];
  for (const c of cases) {
    it(`${c.routing}, k = ${c.topK}, capacity ${c.capacity}: inputs, router and experts (with the auxiliary loss)`, () => {
      const params = new ParamStore(7);
      const moe = new MixtureOfExperts(params, "moe", { d: 4, hidden: 3, activation: "gelu", nLayers: 1, routing: c.routing, experts: 3, topK: c.topK, capacityFactor: c.capacity });
      const rng = new Rng(11);
      perturb(params, rng, 0.6);
      const [B, T] = [4, 2];
      const x = tf.variable(tf.tensor2d(Float32Array.from({ length: B * T * 4 }, () => rng.normal()), [B * T, 4]), true, "moe-x");
      const r = tf.tensor2d(Float32Array.from({ length: B * T * 4 }, () => rng.normal()), [B * T, 4]);
      const variables = [x, ...params.variables()];
      const f = () =>
        tf.tidy(() => {
          const aux: tf.Scalar[] = [];
          const y = moe.apply(x, context(B, T, (l) => aux.push(l)));
          const main = tf.sum(tf.mul(y, r)) as tf.Scalar;
          return aux.length > 0 ? (tf.add(main, tf.mul(aux[0]!, 0.5)) as tf.Scalar) : main;
        });
      const routingOf = () => {
        tf.tidy(() => void moe.apply(x, context(B, T)));
        return JSON.stringify(moe.lastRouting!.tokens.map((rows) => Array.from(rows)));
      };
      const { grads } = tf.variableGrads(f, variables);
      const eps = 3e-3;
      let checked = 0;
      for (const v of variables) {
        const g = grads[v.name]!.dataSync();
        expect(g.every(Number.isFinite)).toBe(true);
        const base = v.dataSync().slice();
        for (let idx = 0; idx < v.size; idx += Math.max(1, Math.floor(v.size / 5))) {
          const at = (delta: number) => {
            const w = base.slice();
            w[idx] = base[idx]! + delta;
            v.assign(tf.tensor(w, v.shape));
            return { value: f().dataSync()[0]!, routing: routingOf() };
          };
          const [plus, minus] = [at(eps), at(-eps)];
          v.assign(tf.tensor(base, v.shape));
          if (plus.routing !== minus.routing) continue; // the step crossed a routing boundary: not differentiable there
          const numeric = (plus.value - minus.value) / (2 * eps);
          expect(Math.abs(numeric - g[idx]!)).toBeLessThan(5e-3 + 0.03 * Math.abs(g[idx]!));
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(40);
      tf.dispose([x, r, ...Object.values(grads)]);
      params.dispose();
    });
  }
});

describe("a whole MoE language model", () => {
  const dims = { vocabSize: 7, contextLength: 8 };
  const archs = {
    "token-choice": tinyArch({ n_layers: 2, feed_forward: "moe-token-choice", experts: 4, top_k: 2, capacity_factor: 1.0 }),
    "expert-choice": tinyArch({ n_layers: 2, feed_forward: "moe-expert-choice", experts: 4, capacity_factor: 1.25 }),
  };

  for (const [name, arch] of Object.entries(archs)) {
    it(`${name}: a token's output does not change when later tokens of the batch change`, () => {
      const model = new TransformerLM(arch, dims, 5);
      perturb(model.params, new Rng(4), 0.3);
      const [B, T] = [5, 8];
      const rng = new Rng(9);
      const tokens = Array.from({ length: B * T }, () => rng.int(dims.vocabSize));
      const logits = (ids: number[]) => tf.tidy(() => model.forward(tf.tensor2d(ids, [B, T], "int32")).arraySync());
      const before = logits(tokens);
      for (const t of [0, 3, 6]) {
        // Every token after position t, in every sequence of the batch, replaced.
        const changed = tokens.map((id, n) => (n % T > t ? (id + 1 + rng.int(dims.vocabSize - 1)) % dims.vocabSize : id));
        const after = logits(changed);
        // Equal to float rounding (an expert's matMul runs over a different set of rows); a routing decision that
        // read a later token would change outputs by far more.
        let [earlier, later] = [0, 0];
        for (let n = 0; n < B * T; n++) {
          const diff = Math.max(...after[n]!.map((v, i) => Math.abs(v - before[n]![i]!)));
          if (n % T <= t) earlier = Math.max(earlier, diff);
          else later = Math.max(later, diff);
        }
        expect(earlier).toBeLessThan(1e-5);
        expect(later).toBeGreaterThan(1e-3); // the change did reach the later positions
      }
      model.dispose();
    });
  }

  it("the built model has the parameters of the formula; active parameters count the router and k experts", () => {
    for (const arch of Object.values(archs)) {
      const model = new TransformerLM(arch, dims, 1);
      expect(model.parameterCount()).toBe(parameterCount(arch, dims));
      model.dispose();
    }
    const dense = tinyArch({ n_layers: 2 });
    const denseFfn = 16 * 32 + 32 + 32 * 16 + 16; // gelu (not gated), d = 16, h = 32: up and down with biases
    const tc = archs["token-choice"];
    // Token choice k = 2 over 4 experts: per layer router (16·4) + 2 experts instead of 1 dense block.
    expect(activeParameterCount(tc, dims) - parameterCount(dense, dims)).toBe(2 * (16 * 4 + denseFfn));
    expect(parameterCount(tc, dims) - parameterCount(dense, dims)).toBe(2 * (16 * 4 + 3 * denseFfn));
    // Expert choice counts capacity_factor experts per token on average.
    expect(activeParameterCount(archs["expert-choice"], dims) - parameterCount(dense, dims)).toBe(Math.round(2 * (16 * 4 + 0.25 * denseFfn)));
  });

  it("trains: the training loss with the auxiliary loss falls, and routing statistics are kept", () => {
    const model = new TransformerLM(archs["token-choice"], dims, 3);
    const tokens = tf.tensor2d(Array.from({ length: 4 * 8 }, (_, i) => i % 7), [4, 8], "int32");
    const targets = tf.tensor2d(Array.from({ length: 4 * 8 }, (_, i) => (i + 1) % 7), [4, 8], "int32");
    const opt = tf.train.adam(0.02);
    const first = tf.tidy(() => model.loss(tokens, targets, { training: true }).dataSync()[0]!);
    for (let i = 0; i < 30; i++) tf.tidy(() => void opt.minimize(() => model.loss(tokens, targets, { training: true }), false, model.trainableVariables()));
    const last = tf.tidy(() => model.loss(tokens, targets, { training: true }).dataSync()[0]!);
    expect(last).toBeLessThan(first - 0.5);
    const routing = model.routing()!;
    expect(routing.expertLoad.length).toBe(2);
    for (const layer of routing.expertLoad) expect(layer.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(routing.droppedFraction).toBeGreaterThanOrEqual(0);
    tf.dispose([tokens, targets]);
    opt.dispose();
    model.dispose();
  });
});
