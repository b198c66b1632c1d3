/**
 * Binary coupling masks (1 = conditioning part, passed through; 0 = transformed part), after RealNVP §3.4.
 *   - "half":         first ⌈D/2⌉ dimensions vs the rest (flat vectors, e.g. 2-D points; permutations between
 *                     steps decide which dimensions meet).
 *   - "checkerboard": pixels with (row + col) even vs odd.
 *   - "channel":      RealNVP's channel-wise mask after a 2×2 squeeze, written on the unsqueezed image: squeezing
 *                     puts the four pixels of each 2×2 block in four channels, and the first two channels (the
 *                     top row of each block) are the even rows of the image, so this is even rows vs odd rows.
 * `parity` 1 swaps the two parts; image masks alternate parity from step to step.
 */
export const MASK_KINDS = ["half", "checkerboard", "channel"] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

export interface ImageShape {
  height: number;
  width: number;
}

export function couplingMask(kind: MaskKind, dim: number, parity: number, image?: ImageShape): number[] {
  const flip = (m: number) => (parity % 2 === 0 ? m : 1 - m);
  if (kind === "half") {
    const k = Math.ceil(dim / 2);
    return Array.from({ length: dim }, (_, i) => flip(i < k ? 1 : 0));
  }
  if (!image || image.height * image.width !== dim) throw new Error(`mask '${kind}' needs an image shape whose size is ${dim}`);
  return Array.from({ length: dim }, (_, i) => {
    const r = Math.floor(i / image.width);
    const c = i % image.width;
    return flip(kind === "checkerboard" ? ((r + c) % 2 === 0 ? 1 : 0) : r % 2 === 0 ? 1 : 0);
  });
}
