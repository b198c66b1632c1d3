/**
 * A trial's architecture as a diagram of its blocks, in SVG, by the family of its search space:
 * - nasbench201: the cell's DAG, nodes 0–3 and an arc per edge labelled with its operation ("none" edges dashed);
 * - transformer: the stack from embedding to LM head, each layer's attention kind and feed-forward activation;
 * - flow: data → the steps ([actnorm] → [permutation] → coupling) → base distribution;
 * anything else as a table of its decisions.
 */
import { show } from "../decisions";
import type { Architecture } from "../types";

const OP_COLOURS: Record<string, string> = {
  none: "#d1d5db",
  skip_connect: "#6b7280",
  nor_conv_1x1: "#2563eb",
  nor_conv_3x3: "#7c3aed",
  avg_pool_3x3: "#ea580c",
};

export function ArchitectureDiagram({ family, architecture }: { family?: string; architecture: Architecture }) {
  if (!architecture || !Object.keys(architecture).length) return <p class="muted">This trial has no architecture (a supernet job).</p>;
  if (family === "nasbench201" || "node1_from0" in architecture) return <Nb201Cell a={architecture} />;
  if (family === "transformer" || Array.isArray(architecture.layers)) return <TransformerStack a={architecture} />;
  if (family === "flow" || "coupling" in architecture) return <FlowSteps a={architecture} />;
  return (
    <table class="kv">
      <tbody>
        {Object.entries(architecture).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{show(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Nb201Cell({ a }: { a: Architecture }) {
  const nodes = [0, 1, 2, 3];
  const X = (i: number) => 40 + i * 150;
  const Y = 135;
  const edges: Array<{ from: number; to: number; op: string }> = [];
  for (let to = 1; to <= 3; to++) for (let from = 0; from < to; from++) edges.push({ from, to, op: show(a[`node${to}_from${from}`]) });
  return (
    <svg viewBox="0 0 540 215" width="100%" class="arch" data-testid="architecture-diagram">
      {edges.map((e) => {
        // Adjacent nodes: a straight edge; 0→2 and 0→3 arc above, 1→3 below, each apex at its label.
        const span = e.to - e.from;
        const apex = span === 1 ? 0 : e.from === 1 ? 60 : span === 2 ? -60 : -115;
        const mx = (X(e.from) + X(e.to)) / 2;
        const d = span === 1 ? `M${X(e.from)},${Y} L${X(e.to)},${Y}` : `M${X(e.from)},${Y} Q${mx},${Y + 2 * apex} ${X(e.to)},${Y}`;
        const labelY = span === 1 ? Y - 8 : Y + apex + (apex > 0 ? 14 : -4);
        return (
          <g key={`${e.from}-${e.to}`}>
            <path d={d} fill="none" stroke={OP_COLOURS[e.op] ?? "#111827"} stroke-width={e.op === "none" ? 1.5 : 3} stroke-dasharray={e.op === "none" ? "5 4" : undefined} />
            <text x={mx} y={labelY} text-anchor="middle" class="edge-label">
              {e.op}
            </text>
          </g>
        );
      })}
      {nodes.map((n) => (
        <g key={n}>
          <circle cx={X(n)} cy={Y} r={16} fill="#fff" stroke="#111827" stroke-width={2} />
          <text x={X(n)} y={Y + 5} text-anchor="middle" class="node-label">
            {n}
          </text>
        </g>
      ))}
    </svg>
  );
}

interface Box {
  label: string;
  detail?: string;
  fill: string;
}

/** Boxes stacked bottom-up (as Transformer diagrams are drawn), with arrows between them. */
function Stack({ boxes, testId = "architecture-diagram" }: { boxes: Box[]; testId?: string }) {
  const W = 440;
  const BH = 40;
  const GAP = 14;
  const H = boxes.length * (BH + GAP) + 10;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width={W} class="arch" data-testid={testId}>
      {boxes.map((b, i) => {
        const y = H - (i + 1) * (BH + GAP);
        return (
          <g key={i}>
            {i > 0 && <line x1={W / 2} x2={W / 2} y1={y + BH + GAP} y2={y + BH + 2} stroke="#374151" marker-end="url(#arrow)" />}
            <rect x={20} y={y} width={W - 40} height={BH} rx={6} fill={b.fill} stroke="#374151" />
            <text x={W / 2} y={y + (b.detail ? 17 : 25)} text-anchor="middle" class="box-label">
              {b.label}
            </text>
            {b.detail && (
              <text x={W / 2} y={y + 32} text-anchor="middle" class="box-detail">
                {b.detail}
              </text>
            )}
          </g>
        );
      })}
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#374151" />
        </marker>
      </defs>
    </svg>
  );
}

function TransformerStack({ a }: { a: Architecture }) {
  const layers = (Array.isArray(a.layers) ? a.layers : []) as Array<Record<string, unknown>>;
  const norm = show(a.norm);
  const boxes: Box[] = [{ label: "token embedding", detail: `d_model ${show(a.d_model)} · positions ${show(a.positions)}${a.dropout ? ` · dropout ${show(a.dropout)}` : ""}`, fill: "#e0e7ff" }];
  layers.forEach((l, i) => {
    const attention = show(l.attention);
    const extra = l.window !== undefined ? ` window ${show(l.window)}` : l.stride !== undefined ? ` stride ${show(l.stride)}` : "";
    boxes.push({ label: `layer ${i + 1}: ${attention} attention${extra}`, detail: `${show(a.n_heads)} heads · ${norm}`, fill: "#fef3c7" });
    boxes.push({ label: `layer ${i + 1}: feed-forward ${show(l.activation)}`, detail: `${show(a.ff_mult)}×${show(a.d_model)} hidden`, fill: "#dcfce7" });
  });
  if (norm !== "post_ln") boxes.push({ label: `final ${norm === "rmsnorm" ? "RMSNorm" : "LayerNorm"}`, fill: "#f3f4f6" });
  boxes.push({ label: "LM head → next-token logits", fill: "#e0e7ff" });
  return <Stack boxes={boxes} />;
}

function FlowSteps({ a }: { a: Architecture }) {
  const steps = typeof a.steps === "number" ? a.steps : 1;
  const coupling = show(a.coupling);
  const conditioner = `MLP ${show(a.hidden_depth)}×${show(a.hidden_width)} ${show(a.activation)}`;
  const bound = a.scale_bound !== undefined ? ` · scale ${show(a.scale_bound)}` : "";
  const mask = a.mask !== undefined ? ` · mask ${show(a.mask)}` : "";
  const boxes: Box[] = [{ label: "data x", fill: "#f3f4f6" }];
  const shown = Math.min(steps, 4);
  for (let i = 0; i < shown; i++) {
    const parts = [a.actnorm === true ? "actnorm" : null, a.permutation !== undefined && a.permutation !== "none" ? `${show(a.permutation)} perm.` : null].filter(Boolean);
    if (i === shown - 1 && steps > shown) boxes.push({ label: `… ${steps - shown} more identical steps …`, fill: "#fff" });
    boxes.push({ label: `step ${i === shown - 1 ? steps : i + 1}: ${parts.length ? `${parts.join(" → ")} → ` : ""}${coupling} coupling`, detail: `${conditioner}${bound}${mask}`, fill: "#fef3c7" });
  }
  boxes.push({ label: `base: ${show(a.base).replace("_", " ")}`, detail: "z", fill: "#e0e7ff" });
  return <Stack boxes={boxes} />;
}
