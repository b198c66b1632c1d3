/**
 * The search spaces the service offers: every `*.json` in the configured folder, loaded and checked once.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { SearchSpace } from "./space.js";

export class SpaceRegistry {
  private readonly spaces = new Map<string, SearchSpace>();

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

  ids(): string[] {
    return [...this.spaces.keys()];
  }

  all(): SearchSpace[] {
    return [...this.spaces.values()];
  }
}
