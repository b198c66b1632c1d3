/**
 * A normalizing flow: an invertible transform f (data → latent) plus a base distribution p_Z. It is itself a
 * distribution (nflows' `flows/base.py`):
 *   log p(x) = log p_Z(f(x)) + log|det ∂f/∂x|      (change of variables)
 *   x = f⁻¹(z), z ~ p_Z                              (sampling)
 * Here too: the base distributions, and `buildFlow`, which builds the flow an architecture object (config.ts)
 * describes.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";
import { conditionerOf, needsScaling, parseFlowArchitecture, stepMask, type FlowArchitecture, type FlowInput } from "./config.js";
import { normalValues } from "./conditioner.js";
import { AdditiveCoupling, AffineCoupling, MaskedAutoregressive } from "./coupling.js";
import { ActNorm, CompositeTransform, countVariables, DiagonalScaling, LULinear, Permutation, type Transform } from "./transforms.js";

// ---- Base distributions: the density of the latent z ----
// `logProb` is differentiable (training); `sample` draws from a seeded generator (tfjs has no global seed).

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface BaseDistribution {
  readonly name: string;
  readonly dim: number;
  /** z (N, D) → log p(z) (N). */
  logProb(z: tf.Tensor2D): tf.Tensor1D;
  /** (n, D) */
  sample(n: number, rng: Rng): tf.Tensor2D;
  variables(): tf.Variable[];
  dispose(): void;
}

export class StandardNormal implements BaseDistribution {
  readonly name = "standard_normal";
  constructor(readonly dim: number) {}

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), this.dim * HALF_LOG_2PI));
  }

  sample(n: number, rng: Rng): tf.Tensor2D {
    return tf.tensor2d(normalValues(rng, [n, this.dim]), [n, this.dim]);
  }

  variables(): tf.Variable[] {
    return [];
  }

  dispose(): void {}
}

/** N(μ, diag σ²) with learned μ and log σ (both start at the standard normal). */
export class DiagonalGaussian implements BaseDistribution {
  readonly name = "diagonal_gaussian";
  readonly mean: tf.Variable;
  readonly logStd: tf.Variable;

  constructor(readonly dim: number) {
    this.mean = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
    this.logStd = tf.tidy(() => tf.variable(tf.zeros([dim]), true));
  }

  logProb(z: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const u = tf.mul(tf.sub(z, this.mean), tf.exp(tf.neg(this.logStd)));
      return tf.sub(tf.sub(tf.mul(tf.sum(tf.square(u), 1), -0.5), tf.sum(this.logStd)), this.dim * HALF_LOG_2PI);
    });
  }

  sample(n: number, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      const eps = tf.tensor2d(normalValues(rng, [n, this.dim]), [n, this.dim]);
      return tf.add(tf.mul(eps, tf.exp(this.logStd)), this.mean) as tf.Tensor2D;
    });
  }

  variables(): tf.Variable[] {
    return [this.mean, this.logStd];
  }

  dispose(): void {
    this.mean.dispose();
    this.logStd.dispose();
  }
}

// ---- The flow ----

export class Flow {
  constructor(
    readonly transform: Transform,
    readonly base: BaseDistribution,
  ) {}

  get dim(): number {
    return this.base.dim;
  }

  /** x (N, D) → log p(x) (N), differentiable. */
  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const { output, logDet } = this.transform.forward(x);
      return tf.add(this.base.logProb(output), logDet);
    });
  }

  /** n samples (n, D), reproducible for a given seed. */
  sample(n: number, seed: number): tf.Tensor2D {
    return tf.tidy(() => this.transform.inverse(this.base.sample(n, new Rng(seed))).output);
  }

  /** Data-dependent initialisation (actnorm) on a batch of data. */
  initialize(x: tf.Tensor2D): void {
    this.transform.initialize?.(x);
  }

  variables(): tf.Variable[] {
    return [...this.transform.variables(), ...this.base.variables()];
  }

  parameterCount(): number {
    return countVariables(this.variables());
  }

  dispose(): void {
    this.transform.dispose();
    this.base.dispose();
  }
}

/** Builds the flow of `arch` for `input`; every initial value comes from `seed`. */
export function buildFlow(archInput: FlowArchitecture | unknown, input: FlowInput, seed: number): Flow {
  const arch = parseFlowArchitecture(archInput);
  const rng = new Rng(seed);
  const cond = conditionerOf(arch);
  const layers: Transform[] = [];
  for (let s = 0; s < arch.steps; s++) {
    if (arch.actnorm) layers.push(new ActNorm(input.dim));
    if (arch.permutation === "reverse") layers.push(Permutation.reverse(input.dim));
    else if (arch.permutation === "random") layers.push(Permutation.random(input.dim, rng));
    else if (arch.permutation === "lu") layers.push(new LULinear(input.dim, rng));
    const mask = stepMask(arch, input, s);
    if (arch.coupling === "additive") layers.push(new AdditiveCoupling({ mask, conditioner: cond }, rng));
    else if (arch.coupling === "affine") layers.push(new AffineCoupling({ mask, conditioner: cond, scaleBound: arch.scale_bound }, rng));
    else layers.push(new MaskedAutoregressive(input.dim, { ...cond, scaleBound: arch.scale_bound }, rng));
  }
  if (needsScaling(arch)) layers.push(new DiagonalScaling(input.dim));
  const base = arch.base === "diagonal_gaussian" ? new DiagonalGaussian(input.dim) : new StandardNormal(input.dim);
  return new Flow(new CompositeTransform(layers), base);
}
