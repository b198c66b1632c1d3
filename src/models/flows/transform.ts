/**
 * The one interface every invertible layer implements (after nflows' `transforms/base.py`).
 *
 * Direction convention: `forward` maps data x to latent z (the density direction, used for training) and
 * `inverse` maps z back to x (the sampling direction). Both return `{output, logDet}` where `logDet[b]` is
 * log|det J| of the map that was applied, for example b, so `inverse(forward(x).output).logDet = −forward(x).logDet`.
 *
 * Tensors are rows of flat vectors: x, z are [batch, dim]; logDet is [batch].
 * Ownership: a transform owns its variables (`variables()`, the trainable ones) and frees them in `dispose()`.
 * Outputs are new tensors owned by the caller (call inside `tf.tidy` or dispose them).
 */
import * as tf from "@tensorflow/tfjs-core";

export interface TransformOutput {
  /** [batch, dim] */
  output: tf.Tensor2D;
  /** [batch] log|det ∂output/∂input| */
  logDet: tf.Tensor1D;
}

export interface Transform {
  /** Short name for logs and summaries, e.g. "affine-coupling". */
  readonly name: string;
  /** data → latent. */
  forward(x: tf.Tensor2D): TransformOutput;
  /** latent → data; logDet is that of the inverse map. */
  inverse(z: tf.Tensor2D): TransformOutput;
  /** Trainable variables (their total size is the transform's parameter count). */
  variables(): tf.Variable[];
  /**
   * Optional data-dependent initialisation (actnorm): given a batch of this transform's inputs, set the
   * parameters; called once before training, outside any gradient tape.
   */
  initialize?(x: tf.Tensor2D): void;
  dispose(): void;
}

/** A zero log-determinant for a batch of `x` (volume-preserving layers). */
export function zeroLogDet(x: tf.Tensor2D): tf.Tensor1D {
  return tf.zeros([x.shape[0]]);
}

/** Number of scalars in a list of variables. */
export function countVariables(vars: readonly tf.Variable[]): number {
  return vars.reduce((n, v) => n + v.size, 0);
}

/**
 * A chain of transforms is a transform: forward applies them in order and adds the log-determinants; inverse
 * applies their inverses in reverse order.
 */
export class CompositeTransform implements Transform {
  readonly name = "composite";

  constructor(readonly transforms: readonly Transform[]) {}

  forward(x: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let out = x;
      let logDet: tf.Tensor1D = zeroLogDet(x);
      for (const t of this.transforms) {
        const r = t.forward(out);
        out = r.output;
        logDet = tf.add(logDet, r.logDet);
      }
      return { output: out, logDet };
    });
  }

  inverse(z: tf.Tensor2D): TransformOutput {
    return tf.tidy(() => {
      let out = z;
      let logDet: tf.Tensor1D = zeroLogDet(z);
      for (let i = this.transforms.length - 1; i >= 0; i--) {
        const r = this.transforms[i]!.inverse(out);
        out = r.output;
        logDet = tf.add(logDet, r.logDet);
      }
      return { output: out, logDet };
    });
  }

  variables(): tf.Variable[] {
    return this.transforms.flatMap((t) => t.variables());
  }

  /** Initialises each transform on the batch as it arrives at that transform (Glow's data-dependent init). */
  initialize(x: tf.Tensor2D): void {
    let cur = tf.clone(x);
    for (const t of this.transforms) {
      t.initialize?.(cur);
      const next = tf.tidy(() => t.forward(cur).output);
      cur.dispose();
      cur = next;
    }
    cur.dispose();
  }

  dispose(): void {
    for (const t of this.transforms) t.dispose();
  }
}
