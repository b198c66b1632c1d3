/**
 * The search spaces the service offers: every `*.json` in the configured folder, loaded and checked once.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { SearchSpace } from "./space.js";

/** Snapshots of spaces (searches' definitions) a process keeps parsed. */
const MAX_SNAPSHOTS = 256;

export class SpaceRegistry {
  private readonly spaces = new Map<string, SearchSpace>();
  private readonly snapshots = new Map<string, SearchSpace>();

  constructor(spaces: SearchSpace[]) {
    for (const s of spaces) this.spaces.set(s.id, s);
  }

  static fromDirectory(dir: string): SpaceRegistry {
    const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
    return new SpaceRegistry(
      files.map((f) => {
        try {
          return new SearchSpace(JSON.parse(readFileSync(path.join(dir, f), "utf8")));
        } catch (err) {
          throw new Error(`search space ${f}: ${(err as Error).message}`);
        }
      }),
    );
  }

  get(id: string): SearchSpace | undefined {
    return this.spaces.get(id);
  }

  /**
   * The space a search runs on: the definition snapshotted with the search when it was submitted (a user's space or
   * a built-in one as it was then), or, for a search stored before snapshots, this registry's space of that name.
   * Each snapshot is parsed once per process.
   */
  resolve(id: string, snapshot?: unknown): SearchSpace | undefined {
    if (snapshot === undefined || snapshot === null) return this.get(id);
    const key = JSON.stringify(snapshot);
    let space = this.snapshots.get(key);
    if (!space) {
      space = new SearchSpace(snapshot);
      if (this.snapshots.size >= MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value!);
      this.snapshots.set(key, space);
    }
    return space;
  }

  ids(): string[] {
    return [...this.spaces.keys()];
  }

  all(): SearchSpace[] {
    return [...this.spaces.values()];
  }
}
