/**
 * A simulated learning curve for tabular benchmarks, which record only the final score of an architecture, so that
 * multi-fidelity schedulers can be exercised on them. The model is fixed and documented because results depend on it:
 *
 *   observed(arch, b) = final(arch) + σ(b) · z_arch,   σ(b) = σ0 · (1 − ln(b / minBudget) / ln(maxBudget / minBudget))
 *
 * with z_arch ~ N(0, 1) fixed per architecture and seed: an architecture's curve is one smooth curve, a wrongly
 * ranked architecture stays wrongly ranked at every low budget (as a slow starter would), and at the full budget
 * the observation is exact. Real learning curves can rank architectures worse than this at low budgets.
 */
import { createHash } from "node:crypto";
import { Rng } from "../core/rng.js";

export interface CurveModel {
  minBudget: number;
  maxBudget: number;
  /** σ0: the spread of the observation at the smallest budget, in the metric's units. */
  noise: number;
}

/** z_arch: a standard normal draw fixed by the architecture's hash and the seed. */
export function curveOffset(archHash: string, seed: number): number {
  const h = createHash("sha256").update(`${archHash}:${seed}`).digest();
  return new Rng([h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]).normal();
}

export function simulatedObservation(final: number, budget: number, model: CurveModel, offset: number): number {
  if (budget >= model.maxBudget || model.maxBudget <= model.minBudget) return final;
  const progress = Math.log(Math.max(budget, model.minBudget) / model.minBudget) / Math.log(model.maxBudget / model.minBudget);
  return final + model.noise * (1 - progress) * offset;
}
