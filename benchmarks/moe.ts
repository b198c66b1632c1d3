/**
 * `npm run bench:moe` (`npx tsx benchmarks/moe.ts`): mixture-of-experts feed-forward layers against a dense one on
 * the Moby-Dick character LM, at equal ACTIVE parameters (the parameters a token is computed with) and equal steps,
 * for several seeds: validation bits per character, training tokens/s, and how evenly the experts are loaded.
 *
 * The variants share everything but the feed-forward block (2 layers, width 64, 4 heads, pre-LN, learned positions,
 * GELU, context 64, batch 16, AdamW with the trainer's default schedule):
 *   dense            one MLP of width 4·d per layer
 *   switch (k=1)     token choice, top-1 over 4 experts of width 4·d, capacity factor 1.25 (Switch Transformer)
 *   gshard (k=2)     token choice, top-2 over 4 experts of width 2·d, capacity factor 1.25 (GShard): two half-width
 *                    experts per token, the active width of the dense MLP
 *   expert choice    each of 4 experts of width 2·d takes c = 2·G/E tokens of its group (capacity factor 2,
 *                    Zhou et al. 2022): on average two half-width experts per token
 * Active parameters are then equal up to the router (d·E per layer); total parameters are 2–4× the dense model's.
 * Every trial runs through `runTransformerTrial`, the trainer's own code path, one at a time, so tokens/s is that
 * of the trainer (routing on the host, rows gathered to and scattered from the experts).
 *
 * Load balance is reported from the final evaluation's routing: `max load` = the busiest expert's share × E, mean
 * over layers and seeds (1 = perfectly balanced, 4 = one expert takes everything); `dropped` = token passes no
 * expert processed (token choice: over capacity; expert choice: chosen by no expert).
 *
 * Flags: --steps N (150) --seeds N (3) --variants a,b (all: dense,switch,gshard,expert-choice) --lr X (2e-3)
 *        --json (last line: {"<variant>": {"val_bpc": mean, "val_bpc_sd": …, "tokens_per_second": …, …}})
 * The defaults finish in a few minutes on one core; more steps make the comparison tighter.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { EvaluationContext, EvaluationRequest } from "../src/evaluators/evaluator.js";
import { runTransformerTrial } from "../src/evaluators/train-transformer.js";
import { activeParameterCount, type TransformerArchitecture } from "../src/models/transformer/config.js";
import { SearchSpace } from "../src/spaces/space.js";

const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "150" },
    seeds: { type: "string", default: "3" },
    variants: { type: "string" },
    lr: { type: "string", default: "2e-3" },
    json: { type: "boolean", default: false },
  },
});

const base: Omit<TransformerArchitecture, "ff_mult" | "layers"> = { n_layers: 2, d_model: 64, n_heads: 4, positions: "learned", norm: "pre_ln", dropout: 0 };
const layers = (n: number) => Array.from({ length: n }, () => ({ attention: "full" as const, activation: "gelu" as const }));

/** The variants, at equal active parameters (up to the router). */
const MOE_BENCH_VARIANTS: Record<string, TransformerArchitecture> = {
  dense: { ...base, ff_mult: 4, feed_forward: "dense", layers: layers(2) },
  switch: { ...base, ff_mult: 4, feed_forward: "moe-token-choice", experts: 4, top_k: 1, capacity_factor: 1.25, layers: layers(2) },
  gshard: { ...base, ff_mult: 2, feed_forward: "moe-token-choice", experts: 4, top_k: 2, capacity_factor: 1.25, layers: layers(2) },
  "expert-choice": { ...base, ff_mult: 2, feed_forward: "moe-expert-choice", experts: 4, capacity_factor: 2.0, layers: layers(2) },
};

interface Row {
  variant: string;
  params: number;
  activeParams: number;
  bpc: number[];
  tokensPerSecond: number[];
  maxLoad: number[];
  loadCv: number[];
  dropped: number[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

async function main(): Promise<void> {
  const steps = Number(args.steps);
  const seeds = Number(args.seeds);
  const names = args.variants ? args.variants.split(",") : Object.keys(MOE_BENCH_VARIANTS);
  for (const n of names) if (!MOE_BENCH_VARIANTS[n]) throw new Error(`unknown variant '${n}' (${Object.keys(MOE_BENCH_VARIANTS).join(", ")})`);
  const space = new SearchSpace(JSON.parse(readFileSync(new URL("../search-spaces/transformer-lm.json", import.meta.url), "utf8")));
  const config = { budget: { steps }, batchSize: 16, contextLength: 64, evalSequences: 64, sampleLength: 0, learningRate: Number(args.lr), logEvery: steps };
  const ctx: EvaluationContext = { reportProgress: () => {}, shouldStop: () => false, log: (m: string) => console.error(`  (${m})`) } as EvaluationContext;
  const rows: Row[] = [];
  const started = performance.now();
  for (const variant of names) {
    const arch = MOE_BENCH_VARIANTS[variant]!;
    const row: Row = { variant, params: 0, activeParams: activeParameterCount(arch, { vocabSize: 83, contextLength: 64 }), bpc: [], tokensPerSecond: [], maxLoad: [], loadCv: [], dropped: [] };
    for (let seed = 1; seed <= seeds; seed++) {
      const request: EvaluationRequest = {
        trialId: `bench-${variant}-${seed}`, searchId: "bench-moe", attempt: 1, space, seed, config,
        architecture: arch as unknown as EvaluationRequest["architecture"], objective: { metric: "val_bpc", direction: "minimize" },
      };
      const { metrics: m } = await runTransformerTrial(request, ctx);
      row.params = m.params as number;
      row.activeParams = m.active_params as number;
      row.bpc.push(m.val_bpc as number);
      row.tokensPerSecond.push(m.tokens_per_second as number);
      row.maxLoad.push((m.expert_load_max as number | undefined) ?? NaN);
      row.loadCv.push((m.expert_load_cv as number | undefined) ?? NaN);
      row.dropped.push((m.dropped_fraction as number | undefined) ?? 0);
      console.error(`${variant} seed ${seed}: val_bpc ${(m.val_bpc as number).toFixed(3)}, ${(m.tokens_per_second as number).toFixed(0)} tokens/s${m.expert_load ? `, load ${JSON.stringify(m.expert_load)}, dropped ${String(m.dropped_fraction)}` : ""}`);
    }
    rows.push(row);
  }
  const minutes = (performance.now() - started) / 60_000;
  const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "—");
  console.log(`\nMoby-Dick char-LM, ${steps} steps × batch 16 × context 64, ${seeds} seeds each (mean ± sd over seeds); ${minutes.toFixed(1)} min in all\n`);
  console.log("| variant | params | active params | val bpc | tokens/s | max load (×E) | load CV | dropped |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.variant} | ${r.params.toLocaleString("en")} | ${r.activeParams.toLocaleString("en")} | ${fmt(mean(r.bpc), 3)} ± ${fmt(sd(r.bpc), 3)} | ${fmt(mean(r.tokensPerSecond), 0)} | ${fmt(mean(r.maxLoad), 2)} | ${fmt(mean(r.loadCv), 2)} | ${fmt(mean(r.dropped), 3)} |`);
  }
  if (args.json) {
    const out = Object.fromEntries(
      rows.map((r) => [r.variant, { params: r.params, active_params: r.activeParams, val_bpc: mean(r.bpc), val_bpc_sd: sd(r.bpc), tokens_per_second: mean(r.tokensPerSecond), expert_load_max: mean(r.maxLoad), expert_load_cv: mean(r.loadCv), dropped_fraction: mean(r.dropped) }]),
    );
    console.log(JSON.stringify(out));
  }
}

await main();
