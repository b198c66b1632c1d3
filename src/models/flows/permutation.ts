/**
 * Fixed permutations of the dimensions between flow steps, so every dimension gets transformed: reversal
 * (RealNVP/MAF) or a random permutation fixed by a seed. Volume-preserving: log|det J| = 0.
 *
 * `tf.gather` has no gradient on wasm (it needs `UnsortedSegmentSum`), but the gradient of a permutation is the
 * inverse permutation, so the layer declares it with `tf.customGrad`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { randomPermutation, type Rng } from "./random.js";
import { zeroLogDet, type Transform, type TransformOutput } from "./transform.js";

/** y[:, j] = x[:, perm[j]], differentiable on every backend. */
function permuteColumns(perm: tf.Tensor1D, inversePerm: tf.Tensor1D): (x: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad(((x: tf.Tensor) => ({
    value: tf.gather(x, perm, 1),
    gradFunc: (dy: tf.Tensor) => tf.gather(dy, inversePerm, 1),
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
}

export class Permutation implements Transform {
  readonly name: string;
  private readonly perm: tf.Tensor1D;
  private readonly inv: tf.Tensor1D;
  private readonly fwd: (x: tf.Tensor2D) => tf.Tensor2D;
  private readonly bwd: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(readonly permutation: readonly number[], name = "permutation") {
    this.name = name;
    const inverse = new Array<number>(permutation.length);
    permutation.forEach((p, j) => (inverse[p] = j));
    this.perm = tf.tensor1d(permutation as number[], "int32");
    this.inv = tf.tensor1d(inverse, "int32");
    this.fwd = permuteColumns(this.perm, this.inv);
    this.bwd = permuteColumns(this.inv, this.perm);
  }

  static reverse(dim: number): Permutation {
    return new Permutation(Array.from({ length: dim }, (_, i) => dim - 1 - i), "reverse");
  }

  static random(dim: number, rng: Rng): Permutation {
    return new Permutation(randomPermutation(rng, dim), "random-permutation");
  }

  forward(x: tf.Tensor2D): TransformOutput {
    return { output: this.fwd(x), logDet: zeroLogDet(x) };
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return { output: this.bwd(z), logDet: zeroLogDet(z) };
  }

  variables(): tf.Variable[] {
    return [];
  }

  dispose(): void {
    this.perm.dispose();
    this.inv.dispose();
  }
}
