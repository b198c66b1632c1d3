/**
 * PNG pictures of density models (pngjs): people look at densities rather than read them.
 *   - 2-D (`density.png`): [learned density on a grid | histogram of the model's samples | histogram of the data],
 *     side by side, each panel labelled above ("model density", "model samples", "data");
 *   - 2-D (`samples.png`): the model's samples alone, larger, labelled "model samples";
 *   - images (`samples.png`): a grid of samples.
 * Pure functions of plain arrays: the evaluator computes the values with the model. Labels are drawn with a
 * 5×7 bitmap font of their own (no font file, no native text rendering).
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

function paint(png: PNG, x0: number, size: number, values: Float32Array, y0 = 0): void {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, v);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const [R, G, B] = colour(max > 0 ? values[r * size + c]! / max : 0);
      const o = 4 * ((y0 + r) * png.width + x0 + c);
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

/** The labels of densityPng's panels, left to right. */
export const DENSITY_PANELS = ["model density", "model samples", "data"] as const;

// 5×7 glyphs of the letters the labels use, one string of 7 rows × 5 columns each ("#" = ink).
const GLYPHS: Record<string, string> = {
  a: ".....|.....|.###.|....#|.####|#...#|.####",
  d: "....#|....#|.##.#|#..##|#...#|#...#|.####",
  e: ".....|.....|.###.|#...#|#####|#....|.###.",
  i: "..#..|.....|.##..|..#..|..#..|..#..|.###.",
  l: ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
  m: ".....|.....|##.#.|#.#.#|#.#.#|#...#|#...#",
  n: ".....|.....|#.##.|##..#|#...#|#...#|#...#",
  o: ".....|.....|.###.|#...#|#...#|#...#|.###.",
  p: ".....|.....|####.|#...#|####.|#....|#....",
  s: ".....|.....|.####|#....|.###.|....#|####.",
  t: ".#...|.#...|###..|.#...|.#...|.#..#|..##.",
  y: ".....|.....|#...#|#...#|.####|....#|.###.",
  " ": ".....|.....|.....|.....|.....|.....|.....",
};
const GLYPH_W = 5;
const GLYPH_H = 7;

/** Height of the band above the panels that holds their labels, for a scale of the font. */
export const labelBand = (scale: number) => (GLYPH_H + 4) * scale;

/** Draws `label` in dark grey centred over [x0, x0 + width) in the band at the top, `scale` pixels per font pixel. */
function drawLabel(png: PNG, x0: number, width: number, label: string, scale: number): void {
  const textWidth = (label.length * (GLYPH_W + 1) - 1) * scale;
  let x = x0 + Math.max(0, Math.floor((width - textWidth) / 2));
  const y0 = 2 * scale;
  for (const ch of label) {
    const rows = (GLYPHS[ch] ?? GLYPHS[" "]!).split("|");
    for (let r = 0; r < GLYPH_H; r++) {
      for (let c = 0; c < GLYPH_W; c++) {
        if (rows[r]![c] !== "#") continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + c * scale + dx;
            if (px >= png.width) continue;
            const o = 4 * ((y0 + r * scale + dy) * png.width + px);
            png.data[o] = png.data[o + 1] = png.data[o + 2] = 40;
            png.data[o + 3] = 255;
          }
        }
      }
    }
    x += (GLYPH_W + 1) * scale;
  }
}

/** The font scale for panels of `size` pixels: labels stay readable on large pictures. */
const fontScale = (size: number) => (size >= 200 ? 2 : 1);

/**
 * [density | samples | data] panels, each size×size pixels, 4-pixel white gaps, colour ∝ √density (viridis), under
 * a band with each panel's label (DENSITY_PANELS).
 */
export function densityPng(p: DensityPicture): Buffer {
  const panels = p.data ? 3 : 2;
  const gap = 4;
  const scale = fontScale(p.size);
  const top = labelBand(scale);
  const png = new PNG({ width: panels * p.size + (panels - 1) * gap, height: top + p.size });
  png.data.fill(255);
  // All panels use a square-root colour scale, so one sharp peak does not hide the rest.
  paint(png, 0, p.size, p.logDensity.map((v) => Math.exp(0.5 * v)), top);
  paint(png, p.size + gap, p.size, histogram(p.samples, p.extent, p.size).map(Math.sqrt), top);
  if (p.data) paint(png, 2 * (p.size + gap), p.size, histogram(p.data, p.extent, p.size).map(Math.sqrt), top);
  for (let k = 0; k < panels; k++) drawLabel(png, k * (p.size + gap), p.size, DENSITY_PANELS[k]!, scale);
  return PNG.sync.write(png);
}

/** The model's 2-D samples alone (`samples.png` of a 2-D flow): a size×size histogram, √count colour, labelled. */
export function samplesPng(p: { extent: number; size: number; samples: Float32Array }): Buffer {
  const scale = fontScale(p.size);
  const top = labelBand(scale);
  const png = new PNG({ width: p.size, height: top + p.size });
  png.data.fill(255);
  paint(png, 0, p.size, histogram(p.samples, p.extent, p.size).map(Math.sqrt), top);
  drawLabel(png, 0, p.size, "model samples", scale);
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
