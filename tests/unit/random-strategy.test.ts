import path from "node:path";
import { describe, expect, it } from "vitest";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { SearchSpace } from "../../src/spaces/space.js";
import { createStrategy } from "../../src/strategies/registry.js";
import { ROOT } from "../setup/env.js";

const nb = SpaceRegistry.fromDirectory(path.join(ROOT, "search-spaces")).get("nasbench201")!;

describe("random strategy", () => {
  it("never proposes the same architecture twice in a search", async () => {
    const s = createStrategy({ type: "random" }, nb, 1);
    const hashes = new Set<string>();
    for (let i = 0; i < 50; i++) for (const p of await s.ask(40)) hashes.add(nb.hash(p.architecture));
    expect(hashes.size).toBe(2000);
  });

  it("is deterministic for a seed and continues identically after a JSON round trip", async () => {
    const a = createStrategy({ type: "random" }, nb, 9);
    const b = createStrategy({ type: "random" }, nb, 9);
    expect(await a.ask(5)).toEqual(await b.ask(5));
    const restored = createStrategy({ type: "random" }, nb, 9, JSON.parse(JSON.stringify(a.state())));
    expect(await restored.ask(7)).toEqual(await a.ask(7));
    expect(await createStrategy({ type: "random" }, nb, 10).ask(5)).not.toEqual(await createStrategy({ type: "random" }, nb, 9).ask(5));
  });

  it("stops proposing when a small space is exhausted", async () => {
    const tiny = new SearchSpace({ id: "tiny", version: 1, family: "t", decisions: [{ name: "x", type: "categorical", values: [1, 2, 3] }] });
    const s = createStrategy({ type: "random" }, tiny, 0);
    const got = [...(await s.ask(2)), ...(await s.ask(5))];
    expect(got.map((p) => p.architecture.x).sort()).toEqual([1, 2, 3]);
    expect(await s.ask(1)).toEqual([]);
  });
});
