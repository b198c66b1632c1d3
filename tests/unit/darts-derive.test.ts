/** Deriving architectures from α: argmax first, then the next best, all valid in the space with distinct hashes. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deriveArchitectures } from "../../src/models/supernet/derive.js";
import type { Architecture } from "../../src/spaces/definition.js";
import { SearchSpace } from "../../src/spaces/space.js";

const space = new SearchSpace(JSON.parse(readFileSync(new URL("../../search-spaces/transformer-lm.json", import.meta.url), "utf8")));

const base: Architecture = {
  n_layers: 3,
  d_model: 64,
  n_heads: 4,
  ff_mult: 2,
  positions: "rotary",
  norm: "rmsnorm",
  dropout: 0,
  feed_forward: "dense", // (the space's default: derived architectures are canonical, so they say it)
  layers: Array.from({ length: 3 }, () => ({ attention: "full", activation: "relu" })),
};

const alphas = {
  "layers[0].attention": { full: 0.1, local: 0.6, strided: 0.1, linear: 0.1, none: 0.1 },
  "layers[0].activation": { relu: 0.1, gelu: 0.5, swish: 0.4 }, // margin log(0.5/0.4) = 0.22: the smallest
  "layers[1].attention": { full: 0.3, local: 0.05, strided: 0.05, linear: 0.1, none: 0.5 }, // none wins
  "layers[1].activation": { relu: 0.9, gelu: 0.1 },
  "layers[2].attention": { full: 0.15, local: 0.05, strided: 0.5, linear: 0.2, none: 0.1 },
  "layers[2].activation": { swiglu: 0.6, geglu: 0.4 }, // margin log(0.6/0.4) = 0.41: the next
};

const companions = (path: string): Record<string, number> => (path.endsWith(".attention") ? { window: 8, stride: 4 } : {});

describe("deriveArchitectures", () => {
  it("gives the argmax architecture, then the next best by joint probability, all valid with distinct hashes", () => {
    const derived = deriveArchitectures({ space, base, alphas, top: 4, companions });
    expect(derived).toHaveLength(5);
    for (const d of derived) {
      expect(space.validate(d.architecture)).toEqual([]);
      expect(d.hash).toBe(space.hash(d.architecture));
    }
    expect(new Set(derived.map((d) => d.hash)).size).toBe(5);
    const [argmax, alt1, alt2] = derived as [(typeof derived)[0], (typeof derived)[0], (typeof derived)[0]];
    expect(argmax.architecture).toEqual({
      ...base,
      layers: [
        { attention: "local", window: 8, activation: "gelu" },
        { attention: "full", activation: "relu" },
        { attention: "strided", stride: 4, activation: "swiglu" },
      ],
    });
    expect(argmax.flips).toEqual([]);
    // `none` is not an attention kind of transformer-lm: the winner is replaced by the best allowed kind, and said so.
    expect(argmax.notes).toHaveLength(1);
    expect(argmax.notes[0]).toMatch(/layers\[1\]\.attention: 'none' won .* using 'full'/);
    // The smallest margin flips first, then the next.
    expect(alt1.flips).toEqual([{ path: "layers[0].activation", from: "gelu", to: "swish" }]);
    expect(alt2.flips).toEqual([{ path: "layers[2].activation", from: "swiglu", to: "geglu" }]);
    for (let i = 1; i < derived.length; i++) expect(derived[i]!.logProb).toBeLessThanOrEqual(derived[i - 1]!.logProb);
  });

  it("skips combinations the space forbids and architectures it has already returned", () => {
    // A local window outside the space's options makes every local choice invalid: derivation passes over them.
    const derived = deriveArchitectures({ space, base, alphas, top: 3, companions: (p): Record<string, number> => (p.endsWith(".attention") ? { window: 5, stride: 4 } : {}) });
    expect(derived).toHaveLength(4);
    for (const d of derived) {
      expect(space.validate(d.architecture)).toEqual([]);
      expect((d.architecture.layers as Array<Record<string, unknown>>)[0]!.attention).not.toBe("local");
    }
    expect(new Set(derived.map((d) => d.hash)).size).toBe(4);
  });

  it("returns fewer than asked when the relaxed decisions have no more distinct choices", () => {
    const small = { "layers[0].attention": { full: 0.7, none: 0.3 }, "layers[0].activation": { relu: 0.4, gelu: 0.6 } };
    const one = { ...base, n_layers: 1, layers: [{ attention: "full", activation: "relu" }] };
    const derived = deriveArchitectures({ space, base: one, alphas: small, top: 5 });
    expect(derived.map((d) => (d.architecture.layers as Array<Record<string, unknown>>)[0])).toEqual([
      { attention: "full", activation: "gelu" },
      { attention: "full", activation: "relu" },
    ]);
  });

  it("rejects a decision that is not in the space", () => {
    expect(() => deriveArchitectures({ space, base, alphas: { "layers[7].attention": { full: 1 } }, top: 1 })).toThrow(/not a decision/);
  });
});
