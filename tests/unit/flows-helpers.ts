/**
 * The shared checks every invertible layer must pass (nflows' round-trip helper): inverse(forward(x)) = x, and
 * forward's logDet = log|det J| of a Jacobian computed independently, by autodiff and by central finite
 * differences, on small dimensions.
 */
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { initBackend } from "../../src/models/backend.js";
import { Rng } from "../../src/core/rng.js";
import type { Transform } from "../../src/models/flows/index.js";

export async function useWasm(): Promise<void> {
  const name = await initBackend({ force: "wasm" });
  expect(name).toBe("wasm"); // initBackend registers the gradient functions too
}

/** Gaussian test points [n, dim]. */
export function randomPoints(n: number, dim: number, seed: number, scale = 1): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(Float32Array.from({ length: n * dim }, () => rng.normal() * scale), [n, dim]);
}

/** Moves every variable away from its (often identity) initialisation, so tests exercise non-trivial maps. */
export function perturb(vars: readonly tf.Variable[], seed: number, scale = 0.3): void {
  const rng = new Rng(seed);
  for (const v of vars) {
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(Float32Array.from({ length: v.size }, () => rng.normal() * scale), v.shape))));
  }
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** log|det| of a small square matrix (row-major), by Gaussian elimination with partial pivoting in doubles. */
export function logAbsDet(m: number[][]): number {
  const a = m.map((r) => [...r]);
  const n = a.length;
  let logDet = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const piv = a[c]![c]!;
    logDet += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / piv;
      for (let k = c; k < n; k++) a[r]![k] = a[r]![k]! - f * a[c]![k]!;
    }
  }
  return logDet;
}

/** Jacobians ∂f(x_b)/∂x_b for every row b, by autodiff: [batch][out][in]. */
export function jacobianAutodiff(f: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D): number[][][] {
  const [n, d] = x.shape;
  const rows: number[][][] = [];
  for (let i = 0; i < d; i++) {
    const g = tf.tidy(() => tf.grad((xx: tf.Tensor) => tf.sum(tf.slice(f(xx as tf.Tensor2D), [0, i], [n, 1])))(x).arraySync() as number[][]);
    rows.push(g);
  }
  return Array.from({ length: n }, (_, b) => rows.map((r) => r[b]!));
}

/** Jacobians by central differences with step h: [batch][out][in]. */
export function jacobianFiniteDiff(f: (x: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D, h = 1e-2): number[][][] {
  const [n, d] = x.shape;
  const cols: number[][][] = [];
  for (let j = 0; j < d; j++) {
    const col = tf.tidy(() => {
      const e = tf.mul(tf.oneHot(tf.fill([n], j, "int32") as tf.Tensor1D, d), h);
      return tf.div(tf.sub(f(tf.add(x, e) as tf.Tensor2D), f(tf.sub(x, e) as tf.Tensor2D)), 2 * h).arraySync() as number[][];
    });
    cols.push(col); // cols[j][b][i] = ∂f_i/∂x_j
  }
  return Array.from({ length: n }, (_, b) => Array.from({ length: d }, (_, i) => cols.map((c) => c[b]![i]!)));
}

/** Round trip in both directions and log-det against autodiff and finite-difference Jacobians. */
export function checkTransform(t: Transform, x: tf.Tensor2D, opts: { tol?: number; logDetTol?: number; fdTol?: number } = {}): void {
  const tol = opts.tol ?? 1e-4;
  tf.tidy(() => {
    const fwd = t.forward(x);
    const back = t.inverse(fwd.output);
    expect(maxAbsDiff(back.output, x), `${t.name}: inverse(forward(x)) = x`).toBeLessThan(tol);
    expect(maxAbsDiff(tf.add(fwd.logDet, back.logDet), tf.zerosLike(fwd.logDet)), `${t.name}: inverse logDet = −forward logDet`).toBeLessThan(1e-3);
    const fwd2 = t.forward(t.inverse(x).output);
    expect(maxAbsDiff(fwd2.output, x), `${t.name}: forward(inverse(z)) = z`).toBeLessThan(tol);

    const logDet = fwd.logDet.arraySync();
    const f = (xx: tf.Tensor2D) => t.forward(xx).output;
    const jAd = jacobianAutodiff(f, x);
    const jFd = jacobianFiniteDiff(f, x);
    jAd.forEach((j, b) => expect(Math.abs(logAbsDet(j) - logDet[b]!), `${t.name}: logDet vs autodiff Jacobian`).toBeLessThan(opts.logDetTol ?? 1e-3));
    jFd.forEach((j, b) => expect(Math.abs(logAbsDet(j) - logDet[b]!), `${t.name}: logDet vs finite-difference Jacobian`).toBeLessThan(opts.fdTol ?? 2e-2));
  });
}
