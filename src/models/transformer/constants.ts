/**
 * Constant tensors (attention masks, position tables) built once per shape and reused by every layer and step.
 * The cache owns them: they are kept out of `tf.tidy` scopes and disposed with the model.
 */
import * as tf from "@tensorflow/tfjs-core";

export class ConstantCache {
  private readonly tensors = new Map<string, tf.Tensor>();

  get<T extends tf.Tensor>(key: string, build: () => T): T {
    let t = this.tensors.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(build));
      this.tensors.set(key, t);
    }
    return t as T;
  }

  get size(): number {
    return this.tensors.size;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
