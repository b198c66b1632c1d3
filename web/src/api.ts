/**
 * The dashboard's calls to the API, through the typed client the CLI uses too (src/client/http.ts: fetch only,
 * errors as ApiError naming the field): the key (asked for once, kept in localStorage, or handed over in the URL
 * fragment `#key=…` so that `npm run demo` can print a ready link) goes as `Authorization: Bearer` on every call.
 * The client is made per call, so a key entered or forgotten applies at once.
 */
import { ApiError, createClient, type Client } from "../../src/client/http";
import type { AlphaPoint, Board, Leaderboard, Model, SearchDetail, SearchPareto, SearchSummary, SpaceDefinition, SpaceSummary, Trial, TrialDetail } from "./types";

export { ApiError };

const KEY_STORAGE = "nas.apiKey";

export function apiKey(): string | null {
  return localStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/**
 * Takes `#key=…` out of the fragment (stored, then the fragment is replaced so the key does not stay in the
 * address bar or the history). The fragment never reaches the server, so the key is not in any access log.
 */
export function adoptKeyFromFragment(): void {
  const match = /^#key=([^&]+)(?:&(.*))?$/.exec(location.hash);
  if (!match) return;
  setApiKey(decodeURIComponent(match[1]!));
  history.replaceState(null, "", `${location.pathname}${location.search}#${match[2] ?? "/"}`);
}

/** The client of this page's origin with the current key. */
export function client(): Client {
  return createClient({ baseUrl: "", apiKey: apiKey() ?? undefined });
}

const get = <T>(path: string) => client().json<T>("get", path);
const post = <T>(path: string, body?: unknown) => client().json<T>("post", path, body === undefined ? {} : { body });

/** A file that needs the key, as a Blob (the `accept` of a file, not JSON). */
const file = async (url: string) => (await client().send("GET", url, { accept: "*/*" })).blob();

// The client's methods return the document's types; the views read the narrower ones of ./types.
export const api = {
  searches: (limit = 100) => client().listSearches({ limit }) as Promise<{ items: SearchSummary[]; nextCursor: string | null }>,
  async searchesOfSpace(space: string): Promise<SearchSummary[]> {
    const out: SearchSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = (await client().listSearches({ space, limit: 200, cursor })) as { items: SearchSummary[]; nextCursor: string | null };
      out.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  },
  search: (id: string) => client().getSearch(id) as Promise<SearchDetail>,
  createSearch: (body: unknown) => client().createSearch(body as Record<string, unknown>) as Promise<SearchDetail>,
  cancelSearch: (id: string) => client().cancelSearch(id) as Promise<SearchDetail>,
  trials: (searchId: string) => client().allTrials(searchId) as Promise<Trial[]>,
  trial: (id: string) => client().getTrial(id) as Promise<TrialDetail>,
  pareto: (searchId: string) => get<SearchPareto>(`/v1/searches/${searchId}/pareto`),
  alphas: (searchId: string) => get<{ items: AlphaPoint[] }>(`/v1/searches/${searchId}/alphas`),
  spaces: () => client().listSpaces() as Promise<{ items: SpaceSummary[] }>,
  space: (id: string) => client().getSpace(id) as Promise<SpaceDefinition>,
  leaderboard: (q: { space: string; task?: string; metric?: string; limit?: number }) => client().leaderboard(q) as Promise<Leaderboard>,
  /** Every (space, task, metric) with a leaderboard in the project (an API before issue 15 answers 404). */
  boards: () => client().boards() as Promise<{ items: Board[] }>,
  models: (searchId: string) => get<{ items: Model[]; nextCursor: string | null }>(`/v1/models?searchId=${searchId}&limit=50`),
  retrain: (searchId: string, steps: number) => post<{ modelId: string; status: "training"; url: string }>(`/v1/searches/${searchId}/retrain`, { steps }),
  generate: (modelId: string, body: { prompt: string; maxLength?: number; temperature?: number; seed?: number }) => post<{ text: string }>(`/v1/models/${modelId}/generate`, body),
  /** The OpenAPI document (open, like the Swagger UI at /docs): the create form is generated from its request schema. */
  openapi: () => get<OpenApiDocument>("/docs/json"),
  /**
   * A trial's file as a data: URL. <img src> cannot send the key, so the file is fetched with it; a data: URL is
   * what the page's Content-Security-Policy allows for images (img-src 'self' data:).
   */
  async artifact(url: string): Promise<{ dataUrl: string; contentType: string; text?: string }> {
    const blob = await file(url);
    const contentType = blob.type || "application/octet-stream";
    const text = contentType.startsWith("text/") || contentType.includes("json") ? await blob.text() : undefined;
    const dataUrl = await new Promise<string>((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
    return { dataUrl, contentType, text };
  },
  /** Saves a file that needs the key (a model's bundle, a trial's weights): fetched, then handed to the browser to save. */
  async download(url: string, name: string): Promise<void> {
    const href = URL.createObjectURL(await file(url));
    const a = Object.assign(document.createElement("a"), { href, download: name });
    a.click();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  },
};

export interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> } }>>;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
}
