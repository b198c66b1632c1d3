/**
 * Normalizing-flow building blocks ("Flow-based Deep Generative Models"), in the manner of nflows: every
 * transform's `forward` (data → latent) and `inverse` return {output, logDet}; a chain of transforms is itself a
 * transform; a flow is a transform plus a base distribution.
 *   config.ts        the architecture object of the "flow" spaces (schema, kinds, coupling masks) and its analytic
 *                    parameter count; imports nothing but zod, so it can be used where tfjs must not be loaded
 *   conditioner.ts   the MLP conditioners (Op, Dense, Sequential, buildMlp) and the seeded initialisers
 *   transforms.ts    the Transform interface and CompositeTransform; actnorm, NICE's diagonal scaling,
 *                    permutations, Glow's LU-parametrised linear map
 *   coupling.ts      NICE additive and RealNVP affine coupling (mask splits, bounded log-scales), MADE and MAF
 *   flow.ts          base distributions, Flow (log p by change of variables, sampling), buildFlow(architecture)
 */
export * from "./config.js";
export * from "./conditioner.js";
export * from "./transforms.js";
export * from "./coupling.js";
export * from "./flow.js";
