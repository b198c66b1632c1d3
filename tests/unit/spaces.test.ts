import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseExpression, ExpressionError } from "../../src/spaces/expression.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { Rng } from "../../src/core/rng.js";
import { nb201FromString, nb201ToString, architectureFromInput } from "../../src/spaces/nasbench201.js";
import { ROOT } from "../setup/env.js";

const toy = new SearchSpace({
  id: "toy",
  version: 1,
  family: "test",
  decisions: [
    { name: "d_model", type: "integer", min: 16, max: 64, step: 16 },
    { name: "n_heads", type: "categorical", values: [1, 2, 3, 4] },
    { name: "n_layers", type: "integer", min: 1, max: 3 },
    {
      name: "layers",
      type: "repeat",
      count: "n_layers",
      decisions: [
        { name: "attention", type: "categorical", values: ["full", "local"] },
        { name: "window", type: "integer", min: 2, max: 8, step: 2, when: "attention == 'local'" },
      ],
    },
  ],
  constraints: ["d_model % n_heads == 0", "d_model / n_heads >= 8"],
});

describe("expressions", () => {
  it("evaluates arithmetic, comparison and boolean operators with precedence", () => {
    expect(parseExpression("1 + 2 * 3 == 7 && !(4 < 3)")({})).toBe(true);
    expect(parseExpression("a % b")({ a: 10, b: 4 })).toBe(2);
    expect(parseExpression("kind == 'local' || kind == \"strided\"")({ kind: "strided" })).toBe(true);
    expect(parseExpression("-x + 1")({ x: 2 })).toBe(-1);
  });
  it("treats a missing name as undefined: equal to nothing", () => {
    expect(parseExpression("a == 1")({})).toBe(false);
    expect(parseExpression("a != 1")({})).toBe(false);
  });
  it("rejects malformed expressions with a message", () => {
    expect(() => parseExpression("a +")).toThrow(ExpressionError);
    expect(() => parseExpression("(a")).toThrow(/missing '\)'/);
    expect(() => parseExpression("a $ b")).toThrow(/unexpected '\$'/);
  });
});

describe("search space", () => {
  it("samples only valid architectures, with conditional decisions only where active", () => {
    const rng = new Rng(1);
    for (let i = 0; i < 300; i++) {
      const a = toy.sample(rng);
      expect(toy.validate(a)).toEqual([]);
      expect((a.d_model as number) % (a.n_heads as number)).toBe(0);
      for (const layer of a.layers as Array<Record<string, unknown>>) expect("window" in layer).toBe(layer.attention === "local");
    }
  });

  it("sampling is uniform over a flat space", () => {
    const space = new SearchSpace({ id: "flat", version: 1, family: "t", decisions: [{ name: "x", type: "categorical", values: ["a", "b", "c", "d"] }] });
    const rng = new Rng(7);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 8000; i++) counts[space.sample(rng).x as string] = (counts[space.sample(rng).x as string] ?? 0) + 1;
    for (const v of ["a", "b", "c", "d"]) expect(counts[v]! / 8000).toBeCloseTo(0.25, 1);
  });

  it("mutation changes exactly one decision of a flat space and keeps constraints", () => {
    const flat = new SearchSpace({
      id: "flat2",
      version: 1,
      family: "t",
      decisions: [
        { name: "d_model", type: "integer", min: 16, max: 64, step: 16 },
        { name: "n_heads", type: "categorical", values: [1, 2, 4] },
        { name: "act", type: "categorical", values: ["relu", "gelu", "swish"] },
      ],
      constraints: ["d_model / n_heads >= 8"],
    });
    const rng = new Rng(3);
    for (let i = 0; i < 300; i++) {
      const parent = flat.sample(rng);
      const { architecture: child, path: changed } = flat.mutate(parent, rng);
      const diffs = Object.keys(parent).filter((k) => parent[k] !== child[k]);
      expect(diffs).toEqual([changed]);
      expect(flat.validate(child)).toEqual([]);
    }
  });

  it("mutation of a repeated decision changes one layer; conditional values follow", () => {
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) {
      const parent = toy.sample(rng);
      const { architecture: child, path: changed } = toy.mutate(parent, rng);
      expect(toy.validate(child)).toEqual([]);
      expect(toy.hash(child)).not.toBe(toy.hash(parent));
      const before = toy.slots(parent).find((s) => s.path === changed)!;
      const after = toy.slots(child).find((s) => s.path === changed)!;
      expect(after.value).not.toBe(before.value);
    }
  });

  it("validation names the field and the problem", () => {
    expect(toy.validate({ d_model: 32, n_heads: 3, n_layers: 1, layers: [{ attention: "full" }] })).toEqual([{ path: "", message: "violates constraint 'd_model % n_heads == 0'" }]);
    const issues = toy.validate({ d_model: 17, n_heads: 1, n_layers: 2, layers: [{ attention: "local" }, { attention: "sparse" }], extra: 1 });
    expect(issues).toContainEqual({ path: "d_model", message: "must be one of an integer in [16, 64] in steps of 16, got 17" });
    expect(issues).toContainEqual({ path: "layers[0].window", message: "missing" });
    expect(issues.find((i) => i.path === "layers[1].attention")?.message).toMatch(/must be one of "full", "local"/);
    expect(issues).toContainEqual({ path: "extra", message: "not a decision of this space (or inactive here)" });
    expect(toy.validate("nope")).toEqual([{ path: "", message: "an architecture is a JSON object" }]);
  });

  it("hash is canonical: key order and inactive values do not matter", () => {
    const a = { d_model: 32, n_heads: 2, n_layers: 1, layers: [{ attention: "full" }] };
    const b = { layers: [{ attention: "full" }], n_layers: 1, n_heads: 2, d_model: 32 };
    expect(toy.hash(a)).toBe(toy.hash(b));
    expect(toy.hash(a)).not.toBe(toy.hash({ ...a, d_model: 64 }));
    expect(toy.hash(a)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("rejects definitions with unknown names in constraints or a bad repeat count", () => {
    expect(() => new SearchSpace({ id: "bad", version: 1, family: "t", decisions: [{ name: "x", type: "categorical", values: [1] }], constraints: ["y > 1"] })).toThrow(/unknown decision/);
    expect(() => new SearchSpace({ id: "bad", version: 1, family: "t", decisions: [{ name: "r", type: "repeat", count: "n", decisions: [{ name: "x", type: "categorical", values: [1] }] }] })).toThrow(/earlier integer decision/);
  });
});

describe("NAS-Bench-201 space", () => {
  const spaces = SpaceRegistry.fromDirectory(path.join(ROOT, "search-spaces"));
  const nb = spaces.get("nasbench201")!;

  it("has 6 edges × 5 operations = 15,625 cells", () => {
    expect(nb.definition.decisions).toHaveLength(6);
    expect(nb.size()).toBe(15625);
  });

  it("converts between the benchmark's strings and the JSON form", () => {
    const s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
    const arch = nb201FromString(s)!;
    expect(nb.validate(arch)).toEqual([]);
    expect(nb201ToString(arch)).toBe(s);
    expect(architectureFromInput("nasbench201", s)).toEqual(arch);
    expect(nb201FromString("|nor_conv_3x3~0|")).toBeUndefined();
  });

  it("every row of the shared table parses to a valid cell", () => {
    const csv = readFileSync(path.resolve(ROOT, "../shared/benchmarks/nasbench201/cifar10.csv"), "utf8").trim().split("\n").slice(1);
    const hashes = new Set<string>();
    for (const line of csv) {
      const arch = nb201FromString(line.split(",")[1]!)!;
      expect(nb.isValid(arch)).toBe(true);
      hashes.add(nb.hash(arch));
    }
    expect(hashes.size).toBe(15625);
  });
});

describe("rng", () => {
  it("is reproducible and resumable from its state", () => {
    const a = new Rng(42);
    a.next();
    const b = new Rng(a.state());
    expect([a.next(), a.int(10), a.normal()]).toEqual([b.next(), b.int(10), b.normal()]);
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
  });
});
