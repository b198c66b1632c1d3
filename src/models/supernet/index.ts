/**
 * DARTS (Liu et al. 2019, "DARTS: Differentiable Architecture Search"), one concept per file:
 *   mixed-op.ts              Σ softmax(α)_i · op_i(x) over a decision's candidates, a SequenceOp (α its own variable)
 *   transformer-supernet.ts  the transformer-lm supernet: per layer, mixed attention (with `none`) and mixed FFN activation
 *   flow-supernet.ts         the flow supernet: mixed conditioner activations (couplings stay exact and invertible)
 *   bilevel.ts               alternating updates, weights on training batches and α on validation batches; V1 and V2
 *   derive.ts                argmax architecture and the next best ones, valid in the space
 *   remedies.ts              the collapse toward parameter-free candidates: DARTS+ early stopping, DARTS− auxiliary skip
 * The job that trains a supernet on a trainer worker is the `supernet` evaluator, src/evaluators/supernet.ts.
 */
export { MixedOp, NONE, alphaVariable } from "./mixed-op.js";
export { TransformerSupernet, type TransformerSupernetOptions, type RelaxedDecision, type AttentionCandidate } from "./transformer-supernet.js";
export { BilevelOptimizer, type BilevelOptions, type IterationLosses } from "./bilevel.js";
export { deriveArchitectures, type DeriveOptions, type DerivedArchitecture } from "./derive.js";
export { collapseCriterion, parameterFreeSelections, auxSkipWeight } from "./remedies.js";
export { FlowSupernet, MixedActivation, FLOW_ACTIVATION_PATH, type FlowSupernetOptions } from "./flow-supernet.js";
