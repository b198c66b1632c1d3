/**
 * PNG pictures of density models (pngjs): people look at densities rather than read them.
 *   - 2-D: [learned density on a grid | histogram of the model's samples | histogram of the data], side by side.
 *   - images: a grid of samples.
 * Pure functions of plain arrays: the evaluator computes the values with the model.
 */
import { PNG } from "pngjs";

// Viridis, 9 anchors, interpolated linearly.
const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

function colour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** Cell centres of a size×size grid over [-extent, extent]², row-major, row 0 at the top (y = +extent). */
export function gridPoints(extent: number, size: number): Float32Array {
  const pts = new Float32Array(2 * size * size);
  const step = (2 * extent) / size;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      pts[2 * (r * size + c)] = -extent + (c + 0.5) * step;
      pts[2 * (r * size + c) + 1] = extent - (r + 0.5) * step;
    }
  }
  return pts;
}

/** 2-D histogram of points [n, 2] on the grid of `gridPoints`, as counts. */
function histogram(points: Float32Array, extent: number, size: number): Float32Array {
  const h = new Float32Array(size * size);
  const scale = size / (2 * extent);
  for (let i = 0; i < points.length / 2; i++) {
    const c = Math.floor((points[2 * i]! + extent) * scale);
    const r = Math.floor((extent - points[2 * i + 1]!) * scale);
    if (r >= 0 && r < size && c >= 0 && c < size) h[r * size + c]! += 1;
  }
  return h;
}

function paint(png: PNG, x0: number, size: number, values: Float32Array): void {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, v);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const [R, G, B] = colour(max > 0 ? values[r * size + c]! / max : 0);
      const o = 4 * (r * png.width + x0 + c);
      png.data[o] = R;
      png.data[o + 1] = G;
      png.data[o + 2] = B;
      png.data[o + 3] = 255;
    }
  }
}

export interface DensityPicture {
  /** Half-width of the square shown. */
  extent: number;
  /** Grid cells per side; `logDensity` is evaluated at `gridPoints(extent, size)`. */
  size: number;
  logDensity: Float32Array;
  /** Model samples [n, 2]. */
  samples: Float32Array;
  /** Data points [n, 2], drawn as a third panel when given. */
  data?: Float32Array;
}

/** [density | samples | data] panels, each size×size pixels, 4-pixel white gaps, colour ∝ √density (viridis). */
export function densityPng(p: DensityPicture): Buffer {
  const panels = p.data ? 3 : 2;
  const gap = 4;
  const png = new PNG({ width: panels * p.size + (panels - 1) * gap, height: p.size });
  png.data.fill(255);
  // All panels use a square-root colour scale, so one sharp peak does not hide the rest.
  paint(png, 0, p.size, p.logDensity.map((v) => Math.exp(0.5 * v)));
  paint(png, p.size + gap, p.size, histogram(p.samples, p.extent, p.size).map(Math.sqrt));
  if (p.data) paint(png, 2 * (p.size + gap), p.size, histogram(p.data, p.extent, p.size).map(Math.sqrt));
  return PNG.sync.write(png);
}

/** A grid of grey images (pixel values 0–255, each image height×width, row-major), `cols` per row, scaled up by `zoom`. */
export function imageGridPng(images: ArrayLike<number>, count: number, height: number, width: number, cols: number, zoom = 2): Buffer {
  const rows = Math.ceil(count / cols);
  const gap = 2;
  const png = new PNG({ width: cols * (width * zoom + gap) + gap, height: rows * (height * zoom + gap) + gap });
  png.data.fill(128);
  for (let k = 0; k < count; k++) {
    const ox = gap + (k % cols) * (width * zoom + gap);
    const oy = gap + Math.floor(k / cols) * (height * zoom + gap);
    for (let r = 0; r < height * zoom; r++) {
      for (let c = 0; c < width * zoom; c++) {
        const v = Math.max(0, Math.min(255, Math.round(images[k * height * width + Math.floor(r / zoom) * width + Math.floor(c / zoom)]!)));
        const o = 4 * ((oy + r) * png.width + ox + c);
        png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
        png.data[o + 3] = 255;
      }
    }
  }
  return PNG.sync.write(png);
}
