/**
 * Costs known before training (src/catalogue/architecture-costs.ts, src/spaces/nasbench201-cost.ts): NAS-Bench-201
 * FLOPs and parameters against counts made by hand from the network's layers, and the Transformer and flow costs
 * against the formulas their trainers report as metrics (so a constraint means the same before and after training).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { architectureCostModel, architectureCosts, CHARLM_VOCABULARY_SIZE, preTrainingMetrics } from "../../src/catalogue/architecture-costs.js";
import { flowParameterCount, parseFlowArchitecture } from "../../src/models/flows/config.js";
import { flopsPerToken, parameterCount, parseArchitecture } from "../../src/models/transformer/config.js";
import { Rng } from "../../src/core/rng.js";
import { nb201Cost } from "../../src/spaces/nasbench201-cost.js";
import { nb201FromString } from "../../src/spaces/nasbench201.js";
import { SpaceRegistry } from "../../src/spaces/registry.js";
import { CharLMTask } from "../../src/tasks/charlm.js";
import { ROOT } from "../setup/env.js";

const spaces = SpaceRegistry.fromDirectory(path.join(ROOT, "search-spaces"));
const nb201 = spaces.get("nasbench201")!;
const cell = (s: string) => nb201FromString(s)!;

describe("NAS-Bench-201 costs", () => {
  // Skeleton, counted by hand: stem 3×3 conv 3→16 on 32×32 (432 weights + 32 BN; 432·1024 = 442,368 FLOPs); two
  // reductions (3×3 16→32 and 32→32 convs + 1×1 shortcut at 16×16: 4,608+9,216+512 weights, 64+64 BN, 14,336·256
  // FLOPs; 32→64 at 8×8: 18,432+36,864+2,048 weights, 128+128 BN, 57,344·64 FLOPs); head BN 128, linear 64·10+10.
  const skeleton = { params: 464 + 14_464 + 57_600 + 128 + 650, flops: 442_368 + 3_670_016 + 3_670_016 + 650 };

  it("a cell without convolutions costs the skeleton alone", () => {
    expect(skeleton).toEqual({ params: 73_306, flops: 7_783_050 });
    for (const s of ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|avg_pool_3x3~1|skip_connect~2|"]) {
      expect(nb201Cost(cell(s))).toEqual(skeleton);
    }
  });

  it("each convolution adds k²·C² weights and 2C BatchNorm scalars per cell, k²·C²·H·W FLOPs, in 5 cells of 3 stages", () => {
    // One 1×1 conv edge: 5 × (256 + 1,024 + 4,096) weights + 5 × (32 + 64 + 128) BN; 5 × (256·1024 + 1024·256 + 4096·64) FLOPs.
    const one1x1 = nb201Cost(cell("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"));
    expect(one1x1).toEqual({ params: skeleton.params + 26_880 + 1_120, flops: skeleton.flops + 3_932_160 });
    // Every edge a 3×3 conv: 6 × 9 × that, the largest network of the benchmark (its papers quote 220 MFLOPs, 1.53 M).
    const all3x3 = nb201Cost(cell("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"));
    expect(all3x3).toEqual({ params: skeleton.params + 6 * (9 * 26_880 + 1_120), flops: skeleton.flops + 6 * 9 * 3_932_160 });
    expect(all3x3).toEqual({ params: 1_531_546, flops: 220_119_690 });
    // The edge's position does not matter, only its operation.
    expect(nb201Cost(cell("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"))).toEqual(one1x1);
  });

  it("is what architectureCosts reports for the nasbench201 space, and the space's pre-training metrics", () => {
    const rng = new Rng(1);
    for (let i = 0; i < 20; i++) {
      const a = nb201.sample(rng);
      expect(architectureCosts(nb201, a, { type: "benchmark" })).toEqual(nb201Cost(a));
    }
    expect(preTrainingMetrics(nb201)).toEqual(["flops", "params"]);
  });
});

describe("Transformer and flow costs", () => {
  const lm = spaces.get("transformer-lm")!;

  it("equal the formulas the trainer reports, at the task's real vocabulary", () => {
    expect(new CharLMTask().vocabSize).toBe(CHARLM_VOCABULARY_SIZE);
    const rng = new Rng(2);
    const model = architectureCostModel(lm, { type: "train", task: "charlm-moby-dick", contextLength: 32 });
    for (let i = 0; i < 20; i++) {
      const a = lm.sample(rng);
      const arch = parseArchitecture(a);
      const dims = { vocabSize: CHARLM_VOCABULARY_SIZE, contextLength: 32 };
      const costs = model(a)!;
      expect(costs.params).toBe(parameterCount(arch, dims));
      expect(costs.flops_per_token).toBe(flopsPerToken(arch, dims));
      expect(costs.active_params).toBeLessThanOrEqual(costs.params!);
    }
    const recall = architectureCosts(lm, lm.sample(rng), { type: "train", task: "assoc-recall" })!;
    expect(recall.params).toBeGreaterThan(0);
  });

  it("flows: parameters and forward FLOPs per sample", () => {
    const flow = spaces.get("flow-2d")!;
    const a = flow.sample(new Rng(3));
    const costs = architectureCosts(flow, a, { type: "train", task: "8gaussians" })!;
    expect(costs.params).toBe(flowParameterCount(parseFlowArchitecture(a), { dim: 2 }));
    expect(costs.flops_per_sample).toBe(2 * costs.params!);
  });

  it("are unknown (undefined), not an error, for options or architectures that do not parse", () => {
    expect(architectureCosts(lm, { n_layers: "two" }, { type: "train", task: "charlm-moby-dick" })).toBeUndefined();
    expect(architectureCosts(lm, lm.sample(new Rng(4)), { type: "train", batchSize: -1 })).toBeUndefined();
  });
});
