/**
 * Adam (Kingma & Ba 2015) over plain Float32Array parameters, kept outside tfjs on purpose: its whole state
 * (step count and both moment estimates) is a few arrays that a strategy stores as JSON and restores exactly,
 * which tfjs's optimizers only offer asynchronously and through tensors.
 */
export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface AdamState {
  step: number;
  m: Float64Array[];
  v: Float64Array[];
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  state: AdamState;

  constructor(
    private readonly options: AdamOptions,
    sizes: readonly number[],
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.state = { step: 0, m: sizes.map((n) => new Float64Array(n)), v: sizes.map((n) => new Float64Array(n)) };
  }

  /** One descent step: params[i] -= lr · m̂ / (√v̂ + ε), for gradients of the loss to minimise. */
  apply(params: Float32Array[], grads: ArrayLike<number>[]): void {
    const s = this.state;
    s.step++;
    const c1 = 1 - this.beta1 ** s.step;
    const c2 = 1 - this.beta2 ** s.step;
    params.forEach((p, i) => {
      const g = grads[i]!;
      const m = s.m[i]!;
      const v = s.v[i]!;
      for (let j = 0; j < p.length; j++) {
        m[j] = this.beta1 * m[j]! + (1 - this.beta1) * g[j]!;
        v[j] = this.beta2 * v[j]! + (1 - this.beta2) * g[j]! * g[j]!;
        p[j] = p[j]! - (this.options.learningRate * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + this.epsilon);
      }
    });
  }
}
