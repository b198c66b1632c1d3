/**
 * NAS-Bench-201 cells in the benchmark's own string form, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (node 1, 2, 3;
 * `op~j` is the edge from node j), and the space's JSON form `{node1_from0: op, node2_from0: op, …}`.
 */
import type { Architecture } from "./definition.js";

export const NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"] as const;
export const NB201_EDGES = ["node1_from0", "node2_from0", "node2_from1", "node3_from0", "node3_from1", "node3_from2"] as const;

const STRING_FORM = /^\|([a-z_0-9]+)~0\|\+\|([a-z_0-9]+)~0\|([a-z_0-9]+)~1\|\+\|([a-z_0-9]+)~0\|([a-z_0-9]+)~1\|([a-z_0-9]+)~2\|$/;

/** Parses the benchmark's string form; undefined if the string is not one. */
export function nb201FromString(s: string): Architecture | undefined {
  const m = STRING_FORM.exec(s.trim());
  if (!m) return undefined;
  const arch: Architecture = {};
  NB201_EDGES.forEach((edge, i) => (arch[edge] = m[i + 1]!));
  return arch;
}

export function nb201ToString(arch: Architecture): string {
  const e = NB201_EDGES.map((edge) => String(arch[edge]));
  return `|${e[0]}~0|+|${e[1]}~0|${e[2]}~1|+|${e[3]}~0|${e[4]}~1|${e[5]}~2|`;
}

/**
 * Reads an architecture as a user may give it: the space's JSON form, or (for NAS-Bench-201 spaces) the
 * benchmark's string. Returns the input unchanged when it is neither, so validation reports the problem.
 */
export function architectureFromInput(family: string, input: unknown): unknown {
  if (family === "nasbench201" && typeof input === "string") return nb201FromString(input) ?? input;
  return input;
}
