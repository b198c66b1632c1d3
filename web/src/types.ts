/**
 * The API's JSON as the dashboard reads it: the types generated from the OpenAPI document (src/client/openapi.d.ts,
 * `npm run openapi`), so a route that changes a field the page reads breaks `tsc -p web`. The fields the document
 * types loosely (architectures, strategy and evaluator configs: JSON) are narrowed here to what the views read.
 * Fields issue 15's contracts add (progress, best on list items, a running trial's step / budgetSteps / etaSeconds,
 * backend, backends) are optional, so the page also works against an API without them.
 */
import type { SearchDetail as ApiSearchDetail, SearchListItem, SearchSpace, SearchSpaceList, Trial as ApiTrial, Leaderboard as ApiLeaderboard } from "../../src/client/http";
import type { operations } from "../../src/client/openapi";

/** The JSON of an operation's success (200, 201 or 202). */
type Ok<O> = O extends { responses: infer R } ? (R[Extract<keyof R, 200 | 201 | 202>] extends { content: { "application/json": infer J } } ? J : never) : never;
/** A's fields, with those of B in place of A's. */
type Override<A, B> = Omit<A, keyof B> & B;

export type SearchStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export type TrialStatus = "queued" | "running" | "completed" | "failed" | "pruned" | "cancelled";
export type Architecture = Record<string, unknown>;

export interface Objective {
  metric: string;
  direction: "minimize" | "maximize";
}

export interface Progress {
  completed: number;
  pruned: number;
  failed: number;
  cancelled: number;
  running: number;
  queued: number;
  budget: number;
}

/** What every search JSON (list item, detail, `search` and `end` events) is read as. */
interface SearchFields {
  status: SearchStatus;
  strategy: { type: string; [k: string]: unknown };
  evaluator: { type: string; [k: string]: unknown };
  scheduler: { type: string; minBudget: number; maxBudget: number; eta?: number } | null;
  objective: Objective;
  /** Every objective, in order (the first is `objective`). */
  objectives?: Objective[];
  progress?: Progress;
  /** The contract's `{trialId, objective, architecture}`; the detail of an API before it says `id`. */
  best?: { trialId?: string; id?: string; objective: number; architecture?: unknown } | null;
  /** Trials per tfjs backend they trained on, e.g. {"wasm": 3}. */
  backends?: Record<string, number>;
}

export type SearchSummary = Override<SearchListItem, SearchFields>;

export type SearchDetail = Override<
  ApiSearchDetail,
  SearchFields & {
    trials?: ApiSearchDetail["trials"];
    bestSoFar?: number[];
    supernet?: { trialId: string; status: TrialStatus; alphas: Alphas | null; alphasUrl: string } | null;
    /** Searches of several objectives: the front's size and hypervolume (the front itself at url); null for one. */
    pareto?: ApiSearchDetail["pareto"];
  }
>;

interface TrialFields {
  status: TrialStatus;
  architecture: Architecture;
  metrics: Record<string, unknown> | null;
  step?: number | null;
  budgetSteps?: number | null;
  etaSeconds?: number | null;
  backend?: string | null;
}

export type Trial = Override<ApiTrial, TrialFields>;

export interface CurvePoint {
  attempt?: number;
  step: number;
  values: Record<string, number>;
}

export type TrialDetail = Override<Ok<operations["getTrialsById"]>, TrialFields & { curve: CurvePoint[] }>;

/** decision → candidate → softmax weight */
export type Alphas = Record<string, Record<string, number>>;
export type AlphaPoint = Ok<operations["getSearchesByIdAlphas"]>["items"][number];

export type SpaceSummary = SearchSpaceList["items"][number];

export interface Decision {
  name: string;
  type: string;
  values?: unknown[];
  min?: number;
  max?: number;
  step?: number;
  when?: string;
  count?: string;
  description?: string;
  decisions?: Decision[];
}

/** GET /v1/search-spaces/:id: the document types it as any JSON object (a space's definition). */
export type SpaceDefinition = Override<SearchSpace, { id: string; family: string; description: string; decisions: Decision[] }>;

type ApiRow = ApiLeaderboard["rows"][number];
export type Leaderboard = Override<ApiLeaderboard, { rows: Array<Override<ApiRow, { architecture: Architecture }>> }>;

/** GET /v1/searches/:id/pareto (src/api/routes/pareto.ts). */
type ApiPareto = Ok<operations["getSearchesByIdPareto"]>;
export type SearchPareto = Override<ApiPareto, { objectives: Objective[]; front: Array<Override<ApiPareto["front"][number], { architecture: Architecture }>> }>;

/** GET /v1/leaderboard/boards: every (space, task, metric) with a leaderboard in the project. */
export type { Board } from "../../src/client/http";

/** GET /v1/models (src/api/routes/models.ts). */
export type Model = Ok<operations["getModels"]>["items"][number];

export const ACTIVE: readonly SearchStatus[] = ["queued", "running"];
export const isActive = (s: { status: SearchStatus }) => ACTIVE.includes(s.status);
