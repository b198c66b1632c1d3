/**
 * Normalizing-flow building blocks ("Flow-based Deep Generative Models"), one concept per file:
 *   transform.ts       the Transform interface (forward: data → latent, inverse; both return {output, logDet})
 *                      and CompositeTransform (a chain of transforms is a transform)
 *   coupling.ts        NICE additive and RealNVP affine coupling;  split.ts / masks.ts: how inputs are split
 *   made.ts            MADE masks;  autoregressive.ts: the MAF layer built on it
 *   actnorm.ts         Glow's actnorm with data-dependent initialisation;  scaling.ts: NICE's diagonal scaling
 *   permutation.ts     reverse / fixed random permutations;  lu-linear.ts: Glow's LU-parametrised linear map
 *   scale.ts           bounded log-scales (tanh, sigmoid);  conditioner.ts: the MLP conditioners (Op interface)
 *   distributions.ts   base distributions;  flow.ts: Flow = transform + base (log p by change of variables, sampling)
 *   architecture.ts    the architecture JSON of the "flow" spaces → buildFlow(), flowParameterCount()
 */
export * from "./transform.js";
export * from "./conditioner.js";
export * from "./scale.js";
export * from "./split.js";
export * from "./masks.js";
export * from "./coupling.js";
export * from "./made.js";
export * from "./autoregressive.js";
export * from "./actnorm.js";
export * from "./scaling.js";
export * from "./permutation.js";
export * from "./lu-linear.js";
export * from "./distributions.js";
export * from "./flow.js";
export * from "./architecture.js";
export { fanInUniform, glorotUniform, normalValues, randomPermutation } from "./random.js";
