/**
 * A NAS-Bench-201 table: `index,arch,<value>` rows (the benchmark's architecture string and one metric), loaded
 * from a CSV path given by configuration (NASBENCH201_CSV). Users bring their own copy of the table.
 */
import { readFileSync } from "node:fs";
import type { Architecture } from "../spaces/definition.js";
import { nb201FromString, nb201ToString } from "../spaces/nasbench201.js";

export class NasBench201Table {
  readonly valueColumn: string;
  private readonly byArch = new Map<string, number>();

  constructor(csv: string, readonly source = "table") {
    const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== "");
    const header = lines[0]?.split(",") ?? [];
    if (header.length < 3 || header[1] !== "arch") throw new Error(`${source}: expected a header 'index,arch,<value>', got '${lines[0] ?? ""}'`);
    this.valueColumn = header[2]!;
    for (let i = 1; i < lines.length; i++) {
      const [, arch, value] = lines[i]!.split(",");
      const v = Number(value);
      if (!arch || !nb201FromString(arch) || !Number.isFinite(v)) throw new Error(`${source}: line ${i + 1} is not 'index,arch,value'`);
      this.byArch.set(arch, v);
    }
  }

  static fromFile(path: string): NasBench201Table {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`NAS-Bench-201 table not readable at ${path} (set NASBENCH201_CSV): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return new NasBench201Table(text, path);
  }

  get size(): number {
    return this.byArch.size;
  }

  /** The value for a cell given as the benchmark's string or the space's JSON form; undefined if absent. */
  lookup(cell: string | Architecture): number | undefined {
    const key = typeof cell === "string" ? nb201ToString(nb201FromString(cell) ?? {}) : nb201ToString(cell);
    return this.byArch.get(key);
  }

  /** Largest value in the table. */
  max(): number {
    let best = -Infinity;
    for (const v of this.byArch.values()) best = Math.max(best, v);
    return best;
  }

  entries(): IterableIterator<[string, number]> {
    return this.byArch.entries();
  }
}
