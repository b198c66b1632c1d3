/**
 * Trainable parameters of a model, created with a seeded initialiser (tfjs has no global seed) and named by
 * where they live, e.g. `layers.2.attn.w_qkv`. The same seed gives the same initial weights on every backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.js";

export type Init = { kind: "normal"; std: number } | { kind: "zeros" } | { kind: "ones" };

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Creates a trainable variable; names must be unique. */
  add(name: string, shape: number[], init: Init): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${name} exists`);
    const size = shape.reduce((p, s) => p * s, 1);
    const values = new Float32Array(size);
    if (init.kind === "ones") values.fill(1);
    else if (init.kind === "normal") for (let i = 0; i < size; i++) values[i] = init.std * this.rng.normal();
    const initial = tf.tensor(values, shape, "float32");
    const v = tf.variable(initial, true, `${name}_${uniqueSuffix()}`);
    initial.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  /** Name → variable, in creation order. */
  entries(): Array<[string, tf.Variable]> {
    return [...this.vars.entries()];
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of trainable scalars. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) if (v.trainable) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

// tfjs variable names are global to the engine: two models in one process must not collide.
let counter = 0;
function uniqueSuffix(): string {
  return (counter++).toString(36);
}
