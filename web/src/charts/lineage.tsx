/**
 * The lineage of an evolution (or any strategy that records `parentId`), in SVG: trials left to right in the order
 * they were proposed, each one generation below its parent, an edge from parent to child, nodes coloured by the
 * objective. The best trial's line of ancestors is drawn thick, so where the winner came from reads at a glance.
 */
import type { Trial } from "../types";
import { fmt, goodness, viridis } from "./scale";

interface Props {
  trials: Trial[];
  direction: "minimize" | "maximize";
  onOpen?: (id: string) => void;
}

const ROW = 36;
const COL = 20;

export function LineageTree({ trials, direction, onOpen }: Props) {
  const byId = new Map(trials.map((t) => [t.id, t]));
  if (!trials.some((t) => t.parentId && byId.has(t.parentId))) return <p class="muted">No lineage: no trial of this search was derived from another (parentId).</p>;
  const depth = new Map<string, number>();
  const depthOf = (t: Trial): number => {
    const known = depth.get(t.id);
    if (known !== undefined) return known;
    // Iterative walk to the root: lineages of long evolutions are deeper than a comfortable recursion.
    const chain: Trial[] = [];
    let cur: Trial | undefined = t;
    const seen = new Set<string>();
    while (cur && !depth.has(cur.id) && !seen.has(cur.id)) {
      seen.add(cur.id);
      chain.push(cur);
      cur = cur.parentId ? byId.get(cur.parentId) : undefined;
    }
    let d = cur && depth.has(cur.id) ? depth.get(cur.id)! + 1 : 0;
    for (const c of chain.reverse()) depth.set(c.id, d++);
    return depth.get(t.id)!;
  };
  const ordered = [...trials].sort((a, b) => a.seq - b.seq);
  const x = new Map(ordered.map((t, i) => [t.id, 16 + i * COL]));
  const maxDepth = Math.max(...ordered.map(depthOf));
  const y = (t: Trial) => 16 + depthOf(t) * ROW;
  const scored = ordered.filter((t) => t.objective !== null);
  const good = goodness(scored.map((t) => t.objective!), direction);
  const best = scored.reduce<Trial | undefined>((b, t) => (!b || good(t.objective!) > good(b.objective!) ? t : b), undefined);
  const bestLine = new Set<string>();
  for (let cur = best; cur; cur = cur.parentId ? byId.get(cur.parentId) : undefined) {
    if (bestLine.has(cur.id)) break;
    bestLine.add(cur.id);
  }
  const width = 32 + ordered.length * COL;
  const height = 32 + maxDepth * ROW;

  return (
    <div class="scroll-x">
      <svg class="lineage" width={Math.max(width, 300)} height={height} data-testid="lineage-tree">
        {ordered.map((t) => {
          const p = t.parentId ? byId.get(t.parentId) : undefined;
          if (!p) return null;
          const onBest = bestLine.has(t.id) && bestLine.has(p.id);
          return <path key={`e${t.id}`} d={`M${x.get(p.id)},${y(p)} C${x.get(p.id)},${y(t) - ROW / 2} ${x.get(t.id)},${y(p) + ROW / 2} ${x.get(t.id)},${y(t)}`} fill="none" stroke={onBest ? "#dc2626" : "#9ca3af"} stroke-width={onBest ? 2.5 : 1} />;
        })}
        {ordered.map((t) => (
          <circle
            key={t.id}
            cx={x.get(t.id)}
            cy={y(t)}
            r={t.id === best?.id ? 6 : 4}
            fill={t.objective === null ? "#e5e7eb" : viridis(good(t.objective))}
            stroke={t.id === best?.id ? "#dc2626" : "#374151"}
            stroke-width={t.id === best?.id ? 2 : 0.6}
            class="node"
            onClick={() => onOpen?.(t.id)}
          >
            <title>{`#${t.seq} ${t.status} ${fmt(t.objective)}${t.parentId && byId.get(t.parentId) ? ` ← #${byId.get(t.parentId)!.seq}` : ""}`}</title>
          </circle>
        ))}
      </svg>
    </div>
  );
}
