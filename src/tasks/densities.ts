/**
 * Two-dimensional density-estimation tasks, generated from a seed (the toy densities of the FFJORD code base,
 * Grathwohl et al. 2019, `lib/toy_data.py`, with the same constants), with fixed-size train/validation/test splits.
 *
 * For 8gaussians, checkerboard and two-moons the density is known in closed form or by a one-dimensional
 * integral, so their true differential entropy H = −∫ p log p is computed once (exactly for checkerboard, by a
 * fine 2-D trapezoid sum for the others) and a model's **gap** = test NLL − H (nats) is ≥ 0 up to sampling
 * error and 0 for a perfect model. pinwheel and 2spirals have no tractable density: they report test NLL only.
 */
import { Rng } from "../core/rng.js";

import { DENSITY_TASKS, type DensityTaskName } from "../catalogue/tasks.js";

export { DENSITY_TASKS, isDensityTask, KNOWN_ENTROPY_TASKS, type DensityTaskName } from "../catalogue/tasks.js";

/** Split sizes (points). */
export const SPLIT_SIZES = { train: 20_000, val: 2_000, test: 10_000 } as const;

export interface DensityTask {
  name: DensityTaskName;
  /** n points, row-major [n, 2]. */
  sample(n: number, rng: Rng): Float32Array;
  /** log p(x, y) when the density is known. */
  logDensity?(x: number, y: number): number;
  /** The square [-extent, extent]² that holds essentially all the mass (used for plots and grids). */
  extent: number;
}

export interface DensityDataset {
  task: DensityTask;
  dim: 2;
  train: Float32Array;
  val: Float32Array;
  test: Float32Array;
}

const LOG_2PI = Math.log(2 * Math.PI);

function logSumExp(values: number[]): number {
  const m = Math.max(...values);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const v of values) s += Math.exp(v - m);
  return m + Math.log(s);
}

// ---------------------------------------------------------------------------------------------------------------
// 8gaussians: equal mixture of 8 isotropic Gaussians on a circle. FFJORD: centres at radius 4, std 0.5, all / 1.414.
const G8_RADIUS = 4 / 1.414;
const G8_STD = 0.5 / 1.414;
const G8_CENTERS: Array<[number, number]> = Array.from({ length: 8 }, (_, k) => [G8_RADIUS * Math.cos((k * Math.PI) / 4), G8_RADIUS * Math.sin((k * Math.PI) / 4)]);

const eightGaussians: DensityTask = {
  name: "8gaussians",
  extent: 4.5,
  sample(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [cx, cy] = G8_CENTERS[rng.int(8)]!;
      out[2 * i] = cx + G8_STD * rng.normal();
      out[2 * i + 1] = cy + G8_STD * rng.normal();
    }
    return out;
  },
  logDensity(x, y) {
    const c = -LOG_2PI - 2 * Math.log(G8_STD) - Math.log(8);
    return logSumExp(G8_CENTERS.map(([cx, cy]) => c - ((x - cx) ** 2 + (y - cy) ** 2) / (2 * G8_STD ** 2)));
  },
};

// ---------------------------------------------------------------------------------------------------------------
// checkerboard: uniform on 8 of the 16 squares of side 2 tiling [-4, 4]² (area 32), so H = log 32 exactly.
const checkerboard: DensityTask = {
  name: "checkerboard",
  extent: 4.5,
  sample(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const x1 = rng.next() * 4 - 2;
      const x2 = rng.next() - rng.int(2) * 2 + (((Math.floor(x1) % 2) + 2) % 2);
      out[2 * i] = 2 * x1;
      out[2 * i + 1] = 2 * x2;
    }
    return out;
  },
  logDensity(x, y) {
    if (Math.abs(x) >= 4 || Math.abs(y) >= 4) return -Infinity;
    const cx = Math.floor(x / 2);
    const cy = Math.floor(y / 2);
    return (((cx + cy) % 2) + 2) % 2 === 0 ? -Math.log(32) : -Infinity;
  },
};

// ---------------------------------------------------------------------------------------------------------------
// two-moons: scikit-learn's make_moons with noise 0.1 (angles uniform on [0, π]), scaled by 2 and shifted by
// (−1, −0.2) as in FFJORD. p(x) = ½ Σ_moons (1/π) ∫₀^π N(x; c_m(t), σ²I) dt with σ = 0.2: a 1-D integral,
// done by the midpoint rule on MOON_NODES angles (node spacing 2π/240 ≈ 0.026 ≪ σ).
const MOON_NOISE = 0.1 * 2;
const MOON_NODES = 240;
function moonCentre(moon: number, t: number): [number, number] {
  const [x, y] = moon === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 1 - Math.sin(t) - 0.5];
  return [2 * x - 1, 2 * y - 0.2];
}
const MOON_TABLE: Array<[number, number]> = [];
for (let m = 0; m < 2; m++) for (let k = 0; k < MOON_NODES; k++) MOON_TABLE.push(moonCentre(m, ((k + 0.5) * Math.PI) / MOON_NODES));

const twoMoons: DensityTask = {
  name: "two-moons",
  extent: 4,
  sample(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [cx, cy] = moonCentre(rng.int(2), rng.next() * Math.PI);
      out[2 * i] = cx + MOON_NOISE * rng.normal();
      out[2 * i + 1] = cy + MOON_NOISE * rng.normal();
    }
    return out;
  },
  logDensity(x, y) {
    const inv = 1 / (2 * MOON_NOISE * MOON_NOISE);
    let m = Infinity;
    for (const [cx, cy] of MOON_TABLE) m = Math.min(m, (x - cx) ** 2 + (y - cy) ** 2);
    let s = 0;
    for (const [cx, cy] of MOON_TABLE) s += Math.exp(-((x - cx) ** 2 + (y - cy) ** 2 - m) * inv);
    return Math.log(s / MOON_TABLE.length) - m * inv - LOG_2PI - 2 * Math.log(MOON_NOISE);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// pinwheel (FFJORD): 5 arms, radial std 0.3, tangential std 0.1, rate 0.25, scaled by 2. No tractable density.
const pinwheel: DensityTask = {
  name: "pinwheel",
  extent: 4.5,
  sample(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const f0 = rng.normal() * 0.3 + 1;
      const f1 = rng.normal() * 0.1;
      const angle = (rng.int(5) * 2 * Math.PI) / 5 + 0.25 * Math.exp(f0);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      out[2 * i] = 2 * (f0 * c + f1 * s);
      out[2 * i + 1] = 2 * (-f0 * s + f1 * c);
    }
    return out;
  },
};

// 2spirals (FFJORD): two interleaved spirals with uniform jitter 0.5/3 and Gaussian noise 0.1. No tractable density.
const twoSpirals: DensityTask = {
  name: "2spirals",
  extent: 4.5,
  sample(n, rng) {
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const r = (Math.sqrt(rng.next()) * 540 * 2 * Math.PI) / 360;
      const sign = rng.int(2) === 0 ? 1 : -1;
      const dx = -Math.cos(r) * r + rng.next() * 0.5;
      const dy = Math.sin(r) * r + rng.next() * 0.5;
      out[2 * i] = (sign * dx) / 3 + 0.1 * rng.normal();
      out[2 * i + 1] = (sign * dy) / 3 + 0.1 * rng.normal();
    }
    return out;
  },
};

const TASKS: Record<DensityTaskName, DensityTask> = {
  "8gaussians": eightGaussians,
  checkerboard,
  "two-moons": twoMoons,
  pinwheel,
  "2spirals": twoSpirals,
};

export function densityTask(name: DensityTaskName): DensityTask {
  return TASKS[name];
}


/** The fixed splits of a task for a data seed (the same for every trial of a search). */
export function densityDataset(name: DensityTaskName, dataSeed = 0): DensityDataset {
  const task = TASKS[name];
  const rng = new Rng(dataSeed * 7919 + DENSITY_TASKS.indexOf(name) + 1);
  return { task, dim: 2, train: task.sample(SPLIT_SIZES.train, rng.fork()), val: task.sample(SPLIT_SIZES.val, rng.fork()), test: task.sample(SPLIT_SIZES.test, rng.fork()) };
}

// ---------------------------------------------------------------------------------------------------------------
const entropyCache = new Map<DensityTaskName, number>();

/**
 * True differential entropy in nats, or undefined when the density is intractable. checkerboard: log 32 exactly;
 * 8gaussians and two-moons: trapezoid sum of −p log p on a grid of step `h` over [-extent, extent]² (the
 * integrands are smooth and vanish at the border, where the trapezoid rule converges spectrally). Computed once.
 */
export function trueEntropy(name: DensityTaskName): number | undefined {
  const cached = entropyCache.get(name);
  if (cached !== undefined) return cached;
  let h: number | undefined;
  if (name === "checkerboard") h = Math.log(32);
  else if (name === "8gaussians" || name === "two-moons") {
    const task = TASKS[name];
    const step = name === "8gaussians" ? 0.01 : 0.025;
    const e = task.extent + 1;
    const n = Math.round((2 * e) / step);
    let sum = 0;
    for (let i = 0; i <= n; i++) {
      const x = -e + i * step;
      for (let j = 0; j <= n; j++) {
        const lp = task.logDensity!(x, -e + j * step);
        if (lp > -700) sum -= Math.exp(lp) * lp;
      }
    }
    h = sum * step * step;
  }
  if (h !== undefined) entropyCache.set(name, h);
  return h;
}
