/**
 * Learning-rate schedule: linear warm-up to `peak`, then cosine decay to `min` at `total` steps (Loshchilov &
 * Hutter 2017, SGDR without restarts; the schedule of nanoGPT's train.py). Steps are 0-based.
 */
export interface WarmupCosineOptions {
  peak: number;
  /** Learning rate at the end of the decay (default peak / 10). */
  min?: number;
  warmupSteps: number;
  totalSteps: number;
}

export function warmupCosine(opts: WarmupCosineOptions): (step: number) => number {
  const min = opts.min ?? opts.peak / 10;
  return (step) => {
    if (step < opts.warmupSteps) return (opts.peak * (step + 1)) / (opts.warmupSteps + 1);
    if (step >= opts.totalSteps) return min;
    const progress = (step - opts.warmupSteps) / Math.max(1, opts.totalSteps - opts.warmupSteps);
    return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (opts.peak - min);
  };
}
