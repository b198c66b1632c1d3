/**
 * Images datasets: 8-bit grayscale images, as an IDX file of unsigned bytes (the MNIST format; 3-D n × height ×
 * width, or 2-D n × pixels) or a `.npy` array of uint8 of shape (n, height, width) or (n, pixels). A 2-D file's
 * rows are images of one row (1 × pixels).
 */
import { DatasetInvalid } from "./errors.js";
import { parseIdx } from "./idx.js";
import type { ImageStats } from "./kinds.js";
import { isNpy, parseNpy } from "./npy.js";
import { MIN_ROWS } from "./split.js";

export interface ParsedImages {
  kind: "images";
  count: number;
  height: number;
  width: number;
  /** Row-major [count, height · width]. */
  pixels: Uint8Array;
  stats: ImageStats;
}

export function parseImages(bytes: Uint8Array): ParsedImages {
  if (bytes.length === 0) throw new DatasetInvalid("the file is empty");
  let shape: number[];
  let pixels: Uint8Array;
  let format: "idx" | "npy";
  if (isNpy(bytes)) {
    const a = parseNpy(bytes);
    if (a.dtype !== "uint8") throw new DatasetInvalid(`.npy header: dtype ${a.dtype}; images are uint8 ('|u1') pixels`);
    if (a.shape.length !== 2 && a.shape.length !== 3) throw new DatasetInvalid(`.npy header: shape (${a.shape.join(", ")}); images are (n, height, width) or (n, pixels)`);
    ({ shape } = a);
    pixels = a.data as Uint8Array;
    format = "npy";
  } else {
    ({ shape, pixels } = parseIdx(bytes));
    format = "idx";
  }
  const count = shape[0]!;
  const [height, width] = shape.length === 3 ? [shape[1]!, shape[2]!] : [1, shape[1]!];
  if (height * width === 0) throw new DatasetInvalid(`images of shape ${height} × ${width} have no pixels`);
  if (count < MIN_ROWS) throw new DatasetInvalid(`too few images to split into training, validation and test sets: ${count}, at least ${MIN_ROWS}`);
  let sum = 0;
  for (let i = 0; i < pixels.length; i++) sum += pixels[i]!;
  return { kind: "images", count, height, width, pixels, stats: { format, count, shape: [height, width], meanPixel: sum / pixels.length } };
}
