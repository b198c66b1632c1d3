/**
 * A search space's decisions as columns of a table or axes of a plot: one per top-level decision, read from a
 * trial's architecture. A repeated block (a Transformer's `layers`) becomes one text column summarising each
 * repetition. Without the space's definition the columns come from the architectures' own keys.
 */
import type { Architecture, Decision, SpaceDefinition, Trial } from "./types";

export interface Column {
  name: string;
  /** categorical: its values in the space's order; numeric: undefined */
  values?: string[];
  numeric: boolean;
  min?: number;
  max?: number;
  get(a: Architecture): string | number | undefined;
}

export const show = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

function repeatSummary(items: unknown): string {
  if (!Array.isArray(items)) return show(items);
  return items
    .map((item) =>
      item && typeof item === "object"
        ? Object.values(item as Record<string, unknown>)
            .map(show)
            .join("·")
        : show(item),
    )
    .join(" | ");
}

function column(d: Decision): Column {
  if (d.type === "repeat") return { name: d.name, numeric: false, get: (a) => repeatSummary(a[d.name]) };
  if (d.type === "integer" || d.type === "float" || d.type === "number")
    return { name: d.name, numeric: true, min: d.min, max: d.max, get: (a) => (typeof a[d.name] === "number" ? (a[d.name] as number) : undefined) };
  return { name: d.name, values: d.values?.map(show), numeric: false, get: (a) => (a[d.name] === undefined ? undefined : show(a[d.name])) };
}

export function decisionColumns(space: SpaceDefinition | undefined, trials: Trial[]): Column[] {
  if (space?.decisions?.length) return space.decisions.map(column);
  const keys = new Map<string, boolean>();
  for (const t of trials) for (const [k, v] of Object.entries(t.architecture ?? {})) keys.set(k, (keys.get(k) ?? true) && typeof v === "number");
  return [...keys].map(([name, numeric]) => ({ name, numeric, get: (a: Architecture) => (numeric ? (a[name] as number) : show(a[name]) || undefined) }));
}
