/**
 * Remedies for the known failure of DARTS: trained long, the supernet collapses toward parameter-free candidates
 * (skip connections; on NAS-Bench-201 DARTS ends at an all-skip cell). Parameter-free candidates are easy to use
 * early, while the candidates with weights still output noise, and the softmax then starves those of gradient
 * ("the rich get richer"). Two published remedies:
 *
 *   - DARTS+ (Liang et al. 2019, "DARTS+: Improved Differentiable Architecture Search with Early Stopping"): stop
 *     the search once more than a bound of decisions select a parameter-free candidate (theirs: two skip
 *     connections in a normal cell). `collapseCriterion` counts them and says when to stop.
 *   - DARTS− (Chu et al. 2021, "DARTS-: Robustly Stepping out of Performance Collapse Without Indicators"): add an
 *     auxiliary skip connection β·x to every mixed operation that has a parameter-free candidate, with β decaying
 *     to 0 over the search (linearly, their default), so that the easy gradient path no longer favours the
 *     parameter-free candidate. `auxSkipWeight` is that schedule; mixed-op.ts adds the term.
 *
 * In a Transformer the parameter-free candidate is `none` (the layer drops attention; the block's residual already
 * carries x), so the advantage DARTS− removes (an easy gradient path) is not the only reason `none` wins early:
 * untrained attention adds noise that `none` does not. Measured on Moby-Dick with a 2-layer supernet (60 steps,
 * tests/unit/darts-remedy.test.ts' setting): plain DARTS selected `none` in 2 of 2 layers; DARTS+ (bound 1)
 * stopped at step 42 with 1; DARTS− ended with 1 of 2 for seed 1 but did not help for seed 2 (1 of 2 either way).
 * DARTS+ is the dependable remedy here.
 */
import type { RelaxedDecision } from "./transformer-supernet.js";

/** Decisions whose current argmax is one of their parameter-free candidates. */
export function parameterFreeSelections(decisions: readonly RelaxedDecision[], alphas: Record<string, Record<string, number>>): string[] {
  return decisions
    .filter((d) => {
      const probs = alphas[d.path];
      if (!probs || d.parameterFree.length === 0) return false;
      const winner = Object.entries(probs).reduce((best, cur) => (cur[1] > best[1] ? cur : best));
      return d.parameterFree.includes(winner[0]);
    })
    .map((d) => d.path);
}

/** DARTS+: the reason to stop when more than `bound` decisions select a parameter-free candidate, else undefined. */
export function collapseCriterion(decisions: readonly RelaxedDecision[], alphas: Record<string, Record<string, number>>, bound: number): string | undefined {
  const selected = parameterFreeSelections(decisions, alphas);
  if (selected.length <= bound) return undefined;
  return `darts+: ${selected.length} decisions select a parameter-free candidate (${selected.join(", ")}), more than the bound ${bound}`;
}

/** DARTS−: β at `step` of `total`, decaying linearly from `beta0` to 0. */
export function auxSkipWeight(beta0: number, step: number, total: number): number {
  return beta0 * Math.max(0, 1 - step / Math.max(1, total));
}
