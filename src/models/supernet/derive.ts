/**
 * Deriving discrete architectures from a trained supernet (Liu et al. 2019, §2.4: "retain the strongest
 * operation"). The α of each relaxed decision gives a categorical distribution softmax(α) over its candidates;
 * decisions are independent, so an architecture's score is Σ_decisions log softmax(α)[choice]:
 *   - the first architecture is the argmax at every decision;
 *   - the next ones are the next best by that score (k-best enumeration, best first), so the first alternative
 *     flips the decision with the smallest margin (log-probability gap to its runner-up), the next one flips the
 *     next smallest (or flips two decisions when that costs less), and so on.
 * Only options the space allows count. Where the space requires an operation but the supernet offered a
 * parameter-free candidate (transformer-lm has no `none` attention: every layer has an attention kind), a winning
 * `none` is replaced by the best allowed candidate of that decision, and the result says so in `notes`.
 * Every architecture returned is valid in the space (`space.validate(a)` is empty), and their hashes are distinct.
 */
import type { Architecture, DecisionValue } from "../../spaces/definition.js";
import type { SearchSpace } from "../../spaces/space.js";

export interface DeriveOptions {
  space: SearchSpace;
  /** An architecture of the space holding the decisions that were not relaxed (depth, width, …). */
  base: Architecture;
  /** Decision path (e.g. `layers[0].attention`) → candidate → softmax(α) weight. */
  alphas: Record<string, Record<string, number>>;
  /** How many alternatives to add after the argmax architecture. */
  top: number;
  /**
   * Values written with a choice, e.g. `local` attention with its window: path and option → {sibling: value}.
   * Values that the choice leaves inactive are dropped by canonicalisation.
   */
  companions?(path: string, option: string): Record<string, DecisionValue>;
  /** Candidate name → value of the space (default: the name itself, or the number it spells for numeric options). */
  toValue?(path: string, option: string): DecisionValue;
}

export interface DerivedArchitecture {
  architecture: Architecture;
  hash: string;
  /** Decision path → chosen candidate. */
  choices: Record<string, string>;
  /** Σ log softmax(α)[choice] over the relaxed decisions (0 would be certainty). */
  logProb: number;
  /** Decisions that differ from the argmax architecture (empty for the first). */
  flips: Array<{ path: string; from: string; to: string }>;
  /** E.g. where a winning `none` was replaced because the space requires an operation. */
  notes: string[];
}

interface RankedDecision {
  path: string;
  /** Allowed options, best first. */
  ranked: Array<{ option: string; value: DecisionValue; logP: number }>;
}

const MAX_EXPANSIONS = 10_000;

/** The argmax architecture first, then up to `top` alternatives in order of decreasing joint probability. */
export function deriveArchitectures(opts: DeriveOptions): DerivedArchitecture[] {
  const { space, base, alphas } = opts;
  const allowedAt = optionsByPath(space, base);
  const toValue = opts.toValue ?? ((path: string, option: string) => matchOption(allowedAt.get(path) ?? [], option));
  const notes: string[] = [];
  const decisions: RankedDecision[] = Object.entries(alphas).map(([path, probs]) => {
    const allowed = allowedAt.get(path);
    if (!allowed) throw new RangeError(`'${path}' is not a decision of space ${space.id} for this base architecture`);
    const all = Object.entries(probs).sort((a, b) => b[1] - a[1]);
    const ranked = all
      .map(([option, p]) => ({ option, value: toValue(path, option), logP: Math.log(Math.max(p, 1e-30)) }))
      .filter((r) => allowed.includes(r.value));
    if (ranked.length === 0) throw new RangeError(`no candidate of '${path}' is an option of space ${space.id}`);
    const winner = all[0]!;
    if (winner[0] !== ranked[0]!.option) {
      notes.push(
        `${path}: '${winner[0]}' won (p=${winner[1].toFixed(3)}) but is not an option of space ${space.id}; using '${ranked[0]!.option}' (p=${Math.exp(ranked[0]!.logP).toFixed(3)}), the best allowed candidate`,
      );
    }
    return { path, ranked };
  });

  const build = (ranks: readonly number[]): Architecture => {
    const arch = structuredClone(base);
    decisions.forEach((d, i) => {
      const pick = d.ranked[ranks[i]!]!;
      setPath(arch, d.path, pick.value);
      for (const [sibling, value] of Object.entries(opts.companions?.(d.path, pick.option) ?? {})) setPath(arch, siblingPath(d.path, sibling), value);
    });
    return space.canonical(arch);
  };
  const score = (ranks: readonly number[]) => ranks.reduce((s, r, i) => s + decisions[i]!.ranked[r]!.logP, 0);

  // Best-first enumeration of rank vectors (each decision's options sorted best first): a popped vector's
  // successors raise one decision's rank by one, so vectors come out in order of decreasing score.
  const out: DerivedArchitecture[] = [];
  const hashes = new Set<string>();
  const seen = new Set<string>();
  const start = decisions.map(() => 0);
  const frontier: Array<{ ranks: number[]; score: number }> = [{ ranks: start, score: score(start) }];
  seen.add(start.join(","));
  let argmaxChoices: Record<string, string> | undefined;
  for (let n = 0; frontier.length > 0 && out.length < opts.top + 1 && n < MAX_EXPANSIONS; n++) {
    frontier.sort((a, b) => b.score - a.score);
    const { ranks, score: s } = frontier.shift()!;
    const arch = build(ranks);
    if (space.validate(arch).length === 0) {
      const hash = space.hash(arch);
      if (!hashes.has(hash)) {
        hashes.add(hash);
        const choices = Object.fromEntries(decisions.map((d, i) => [d.path, d.ranked[ranks[i]!]!.option]));
        argmaxChoices ??= choices;
        const flips = Object.entries(choices)
          .filter(([p, o]) => argmaxChoices![p] !== o)
          .map(([path, to]) => ({ path, from: argmaxChoices![path]!, to }));
        out.push({ architecture: arch, hash, choices, logProb: s, flips, notes: out.length === 0 ? notes : [] });
      }
    }
    decisions.forEach((d, i) => {
      if (ranks[i]! + 1 >= d.ranked.length) return;
      const next = [...ranks];
      next[i]! += 1;
      const key = next.join(",");
      if (seen.has(key)) return;
      seen.add(key);
      frontier.push({ ranks: next, score: score(next) });
    });
  }
  if (out.length === 0) throw new RangeError(`no valid architecture of space ${space.id} can be derived from these α`);
  return out;
}

/** Options of every active slot of the base architecture, by path (`layers[0].attention` → values). */
function optionsByPath(space: SearchSpace, base: Architecture): Map<string, readonly DecisionValue[]> {
  return new Map(space.slots(base).map((s) => [s.path, s.options]));
}

/** A candidate name as a value of the space: the option itself, or the option whose string form matches. */
function matchOption(options: readonly DecisionValue[], option: string): DecisionValue {
  return options.find((v) => v === option || String(v) === option) ?? option;
}

/** `layers[2].attention` → writes arch.layers[2].attention; `n_heads` → arch.n_heads. */
export function setPath(arch: Architecture, path: string, value: DecisionValue): void {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
  if (!m) {
    arch[path] = value;
    return;
  }
  const items = arch[m[1]!];
  if (!Array.isArray(items) || !items[Number(m[2])]) throw new RangeError(`the base architecture has no ${m[1]}[${m[2]}]`);
  items[Number(m[2])]![m[3]!] = value;
}

/** `layers[2].attention`, `window` → `layers[2].window`; `n_heads`, `x` → `x`. */
function siblingPath(path: string, sibling: string): string {
  const dot = path.lastIndexOf(".");
  return dot < 0 ? sibling : `${path.slice(0, dot)}.${sibling}`;
}
