/**
 * uPlot in a Preact component: the chart is made when `shape` (a string naming its series and options) changes and
 * fed new data otherwise, so live updates redraw without rebuilding it; it follows its container's width.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];
export const colour = (i: number) => PALETTE[i % PALETTE.length]!;

export interface PlotProps {
  /** Changes when the chart's structure does (series, scales): the chart is then rebuilt. */
  shape: string;
  opts: () => Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
  testId?: string;
}

export function Plot({ shape, opts, data, height = 240, testId }: PlotProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    const el = host.current!;
    const u = new uPlot({ ...opts(), width: Math.max(200, el.clientWidth), height }, latest.current, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="plot" ref={host} data-testid={testId} />;
}

/** Points without lines (uPlot draws scatter plots as series without paths). */
export const scatterSeries = (label: string, stroke: string): uPlot.Series => ({
  label,
  stroke,
  paths: () => null,
  points: { show: true, size: 6, stroke, fill: stroke },
});

/** Vertical dashed lines at the given x values (a scheduler's rung budgets). */
export function verticalLines(xs: number[], stroke = "#9ca3af"): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.strokeStyle = stroke;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        for (const x of xs) {
          const px = Math.round(u.valToPos(x, "x", true));
          if (px < bbox.left || px > bbox.left + bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(px, bbox.top);
          ctx.lineTo(px, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}
