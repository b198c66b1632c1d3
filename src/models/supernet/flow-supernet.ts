/**
 * The DARTS supernet of the `flow` family (Liu et al. 2019, applied to search-spaces/flow-2d.json): the flow of a
 * base architecture (buildFlow, models/flows/flow.ts) whose conditioner activations are mixed,
 *   act̄(h) = Σ_k softmax(α)_k · act_k(h)      over the space's activations (relu, tanh, elu, swish),
 * with one α for the whole flow, because the space's `activation` is one global decision (as DARTS shares one α
 * among all cells of a type). Every other decision (steps, coupling kind, permutation, width, depth, base) comes
 * from the base architecture.
 *
 * Why the mixture sits inside the conditioner and not around the coupling transform: a conditioner is an
 * arbitrary function of the conditioning half x_A (s, t = NN(x_A)); mixing inside it leaves the coupling
 * z_B = x_B ⊙ exp(s(x_A)) + t(x_A) as it is, so the flow stays exactly invertible (x_B = (z_B − t(z_A)) ⊙
 * exp(−s(z_A))) with the exact log-determinant Σ s(x_A). A mixture of two couplings, Σ w_k f_k(x), is in general
 * not invertible in closed form (each f_k is, their weighted sum need not be), and its log|det J| is not the
 * mixture of the f_k's log-determinants, so a flow with mixed couplings would lose exact sampling and likelihood.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  ACTIVATIONS as FLOW_ACTIVATIONS,
  activate,
  ActivationOp,
  AdditiveCoupling,
  AffineCoupling,
  buildFlow,
  CompositeTransform,
  MaskedAutoregressive,
  parseFlowArchitecture,
  Sequential,
  type Activation as FlowActivation,
  type Flow,
  type FlowArchitecture,
  type FlowInput,
  type Op,
} from "../flows/index.js";
import { alphaVariable } from "./mixed-op.js";
import type { RelaxedDecision } from "./transformer-supernet.js";

/** The relaxed decision of the flow spaces (a global decision: its path is its name). */
export const FLOW_ACTIVATION_PATH = "activation";

/** Σ softmax(α)_k · act_k(h) on [batch, features]; α is shared and owned by the supernet, not by this op. */
export class MixedActivation implements Op {
  constructor(
    readonly options: readonly FlowActivation[],
    readonly alpha: tf.Variable,
  ) {}

  /** h: [N, F] → [N, F] */
  apply(h: tf.Tensor2D): tf.Tensor2D {
    const w = tf.softmax(this.alpha as tf.Tensor1D); // [K]
    const terms = this.options.map((kind, k) => tf.mul(activate(kind, h), tf.slice(w, [k], [1])) as tf.Tensor2D);
    return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Tensor2D;
  }

  /** α is not a weight: it is trained on validation batches, so it is left out of the conditioner's variables. */
  variables(): tf.Variable[] {
    return [];
  }

  dispose(): void {}
}

export interface FlowSupernetOptions {
  /** Activations mixed in every conditioner (default all four of the flow family). */
  activation?: readonly FlowActivation[];
}

export class FlowSupernet {
  readonly base: FlowArchitecture;
  readonly flow: Flow;
  readonly options: readonly FlowActivation[];
  /** α [K] of the `activation` decision, shared by every conditioner of the flow. */
  readonly alpha: tf.Variable;
  /** The mixed activations placed in the conditioners (one per hidden layer per coupling). */
  readonly mixed: MixedActivation[] = [];

  /** `base` is a flow architecture; its `activation` is ignored. Throws on a malformed base or candidate. */
  constructor(base: unknown, input: FlowInput, seed: number, opts: FlowSupernetOptions = {}) {
    this.options = [...(opts.activation ?? FLOW_ACTIVATIONS)];
    if (this.options.length === 0) throw new RangeError("the activation decision needs at least one candidate");
    for (const a of this.options) if (!(FLOW_ACTIVATIONS as readonly string[]).includes(a)) throw new RangeError(`unknown flow activation '${a}'`);
    // Built with a non-ReLU activation, so that every activation is an ActivationOp of its own (ReLU is fused
    // into the dense layer) which a mixed activation can replace; the weights do not depend on the activation.
    this.base = parseFlowArchitecture({ ...(base as object), activation: "tanh" });
    this.flow = buildFlow(this.base, input, seed);
    this.alpha = alphaVariable(FLOW_ACTIVATION_PATH, this.options.length);
    for (const net of conditioners(this.flow)) {
      net.ops.forEach((op, i) => {
        if (op instanceof ActivationOp) {
          const m = new MixedActivation(this.options, this.alpha);
          net.ops[i] = m;
          this.mixed.push(m);
        }
      });
    }
    if (this.mixed.length === 0) throw new RangeError("the base flow has no conditioner activation to mix");
  }

  decisions(): RelaxedDecision[] {
    return [{ path: FLOW_ACTIVATION_PATH, options: this.options, parameterFree: [] }];
  }

  /** `activation` → option → softmax(α) weight. */
  alphas(): Record<string, Record<string, number>> {
    const p = tf.tidy(() => tf.softmax(this.alpha as tf.Tensor1D).dataSync());
    return { [FLOW_ACTIVATION_PATH]: Object.fromEntries(this.options.map((o, k) => [o, p[k]!])) };
  }

  alphaState(): Record<string, number[]> {
    return { [FLOW_ACTIVATION_PATH]: Array.from(this.alpha.dataSync()) };
  }

  setAlphaState(state: Record<string, readonly number[]>): void {
    const v = state[FLOW_ACTIVATION_PATH];
    if (!v) return;
    const t = tf.tensor1d(Float32Array.from(v));
    this.alpha.assign(t);
    t.dispose();
  }

  /** Makes the mixture exactly `option` (logit 0, the others −1e9). */
  fixTo(option: FlowActivation): void {
    const k = this.options.indexOf(option);
    if (k < 0) throw new RangeError(`${option} is not a candidate`);
    this.setAlphaState({ [FLOW_ACTIVATION_PATH]: this.options.map((_, i) => (i === k ? 0 : -1e9)) });
  }

  weightVariables(): tf.Variable[] {
    return this.flow.variables();
  }

  alphaVariables(): tf.Variable[] {
    return [this.alpha];
  }

  parameterCount(): number {
    return this.flow.parameterCount();
  }

  /** x [batch, dim] → log p(x) [batch], differentiable in the weights and α. */
  logProb(x: tf.Tensor2D): tf.Tensor1D {
    return this.flow.logProb(x);
  }

  dispose(): void {
    this.flow.dispose();
    this.alpha.dispose();
  }
}

/** The conditioner networks of a flow built by buildFlow: coupling MLPs and MADE networks. */
function conditioners(flow: Flow): Sequential[] {
  const transforms = flow.transform instanceof CompositeTransform ? flow.transform.transforms : [flow.transform];
  const out: Sequential[] = [];
  for (const t of transforms) {
    const net = t instanceof AdditiveCoupling || t instanceof AffineCoupling ? t.conditioner : t instanceof MaskedAutoregressive ? t.made : undefined;
    if (net instanceof Sequential) out.push(net);
  }
  return out;
}
