/** Whole flows sampled from the search spaces: parameter formula, round trip, log-det against the Jacobian. */
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFlow, flowParameterCount, REFERENCE_REALNVP, type FlowInput } from "../../src/models/flows/index.js";
import { Rng } from "../../src/core/rng.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { checkTransform, maxAbsDiff, perturb, randomPoints, useWasm } from "./flows-helpers.js";

beforeAll(useWasm);

const load = (id: string) => new SearchSpace(JSON.parse(readFileSync(new URL(`../../search-spaces/${id}.json`, import.meta.url), "utf8")));

describe("flow-2d space", () => {
  const space = load("flow-2d");
  const input: FlowInput = { dim: 2 };

  it("is a flow-family space whose samples build", () => {
    expect(space.family).toBe("flow");
    const rng = new Rng(3);
    for (let i = 0; i < 40; i++) {
      const arch = space.sample(rng);
      const flow = buildFlow(arch, input, i);
      expect(flow.parameterCount(), JSON.stringify(arch)).toBe(flowParameterCount(arch, input));
      flow.dispose();
    }
  });

  it("reference RealNVP has the analytic parameter count", () => {
    const flow = buildFlow(REFERENCE_REALNVP, input, 1);
    // 8 × (MLP 1→64→64→2 + 1 tanh scale) = 8 × (128 + 4160 + 130 + 1)
    expect(flow.parameterCount()).toBe(8 * (1 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2 + 1));
    flow.dispose();
  });

  it("sampled flows invert within 1e-4 and their log-det matches the Jacobian", () => {
    const rng = new Rng(11);
    for (let i = 0; i < 8; i++) {
      const arch = space.sample(rng);
      const flow = buildFlow(arch, input, 100 + i);
      const x = randomPoints(4, 2, i, 2);
      flow.initialize(x);
      perturb(flow.transform.variables(), i, 0.05);
      checkTransform(flow.transform, x, { logDetTol: 2e-3, fdTol: 5e-2 });
      x.dispose();
      flow.dispose();
    }
  });

  it("the same architecture and seed build the same weights", () => {
    const a = buildFlow(REFERENCE_REALNVP, input, 7);
    const b = buildFlow(REFERENCE_REALNVP, input, 7);
    a.variables().forEach((v, i) => expect(maxAbsDiff(v, b.variables()[i]!)).toBe(0));
    const sa = a.sample(5, 3);
    const sb = b.sample(5, 3);
    expect(maxAbsDiff(sa, sb)).toBe(0);
    tf.dispose([sa, sb]);
    a.dispose();
    b.dispose();
  });
});

describe("flow-mnist space", () => {
  const space = load("flow-mnist");

  it("parameter formula equals the built count (14×14)", () => {
    const input: FlowInput = { dim: 196, image: { height: 14, width: 14 } };
    const rng = new Rng(5);
    for (let i = 0; i < 6; i++) {
      const arch = space.sample(rng);
      const flow = buildFlow(arch, input, i);
      expect(flow.parameterCount(), JSON.stringify(arch)).toBe(flowParameterCount(arch, input));
      flow.dispose();
    }
  });

  it("sampled flows invert within 1e-4 (small images; same blocks and masks)", () => {
    const input: FlowInput = { dim: 16, image: { height: 4, width: 4 } };
    const rng = new Rng(9);
    for (let i = 0; i < 8; i++) {
      const arch = { ...space.sample(rng), hidden_width: 32 };
      const flow = buildFlow(arch, input, i);
      const x = randomPoints(8, 16, i);
      flow.initialize(x);
      perturb(flow.transform.variables(), i, 0.02);
      tf.tidy(() => {
        const z = flow.transform.forward(x);
        const back = flow.transform.inverse(z.output);
        expect(maxAbsDiff(back.output, x), JSON.stringify(arch)).toBeLessThan(1e-4);
        expect(maxAbsDiff(tf.add(z.logDet, back.logDet), tf.zeros([8]))).toBeLessThan(1e-3);
      });
      x.dispose();
      flow.dispose();
    }
  });

  it("a 196-dimensional affine checkerboard flow with LU layers inverts", () => {
    const input: FlowInput = { dim: 196, image: { height: 14, width: 14 } };
    const arch = { steps: 3, coupling: "affine", mask: "checkerboard", permutation: "lu", actnorm: true, hidden_width: 64, hidden_depth: 1, activation: "elu", base: "diagonal_gaussian" };
    const flow = buildFlow(arch, input, 1);
    const x = randomPoints(4, 196, 2);
    flow.initialize(x);
    perturb(flow.transform.variables(), 3, 0.01);
    tf.tidy(() => {
      expect(maxAbsDiff(flow.transform.inverse(flow.transform.forward(x).output).output, x)).toBeLessThan(1e-4);
    });
    x.dispose();
    flow.dispose();
  });
});
