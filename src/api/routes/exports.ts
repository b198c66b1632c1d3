/**
 * A search's trials as a table, for a spreadsheet, pandas or the CLI's `nas export`:
 *   GET /v1/searches/:id/trials.csv     one header line, one line per trial (RFC 4180: ./csv.ts), by seq
 *   GET /v1/searches/:id/trials.jsonl   one JSON object per line, the same keys with JSON values
 * Columns: id, seq, kind, status, parentId, archHash, `arch.<decision>` (the space's decisions in their declared
 * order, then any other key an architecture holds; a per-layer group is its JSON), `metric.<name>` (every metric
 * any trial reported, sorted; `backend` has its own column), objective, `cost.<name>` (the costs known before
 * training, computed from the architecture: src/catalogue/architecture-costs.ts, so queued and failed trials
 * have them too), attempts, worker, backend, error, queuedAt, startedAt, finishedAt, duration_s (finished −
 * started). Streamed page by page; scoped by the key's project (another project's search: 404).
 */
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { architectureCosts, preTrainingMetrics, type Architecture, type SearchSpace } from "../../catalogue/index.js";
import { spaceOf } from "../../catalogue/user-spaces.js";
import type { JsonValue } from "../../core/json.js";
import type { Db } from "../../db/client.js";
import { exportKeys, exportTrialPage, type ExportTrialRow } from "../../db/exports.js";
import type { Scope } from "../../db/projects.js";
import { getSearch } from "../../db/searches.js";
import { csvRecord } from "../csv.js";
import { errorBodySchema, notFound } from "../errors.js";
import { uuidParam } from "../schemas.js";

const tags = ["searches"];
/** Trials read per statement while streaming. */
const PAGE = 500;
const LEADING = ["id", "seq", "kind", "status", "parentId", "archHash"] as const;
const TRAILING = ["attempts", "worker", "backend", "error", "queuedAt", "startedAt", "finishedAt", "duration_s"] as const;

interface Columns {
  decisions: string[];
  metrics: string[];
  costs: readonly string[];
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function exportHeader(c: Columns): string[] {
  return [...LEADING, ...c.decisions.map((d) => `arch.${d}`), ...c.metrics.map((m) => `metric.${m}`), "objective", ...c.costs.map((k) => `cost.${k}`), ...TRAILING];
}

/** One trial as the export's flat record (keys in header order). */
function exportRecord(t: ExportTrialRow, c: Columns, costsOf: (a: Architecture) => Record<string, number> | undefined): Record<string, JsonValue> {
  const arch = (t.architecture ?? {}) as Record<string, JsonValue>;
  const metrics = (t.metrics ?? {}) as Record<string, JsonValue>;
  let costs: Record<string, number> | undefined;
  try {
    costs = c.costs.length ? costsOf(arch as Architecture) : undefined;
  } catch {
    costs = undefined; // an architecture its family cannot build (a failed trial) has no costs
  }
  const out: Record<string, JsonValue> = { id: t.id, seq: t.seq, kind: t.kind, status: t.status, parentId: t.parentId, archHash: t.archHash };
  for (const d of c.decisions) out[`arch.${d}`] = arch[d] ?? null;
  for (const m of c.metrics) out[`metric.${m}`] = metrics[m] ?? null;
  out.objective = t.objective;
  for (const k of c.costs) out[`cost.${k}`] = costs?.[k] ?? null;
  const duration = t.startedAt && t.finishedAt ? (t.finishedAt.getTime() - t.startedAt.getTime()) / 1000 : null;
  Object.assign(out, {
    attempts: t.attempts,
    worker: t.worker,
    backend: typeof metrics.backend === "string" ? metrics.backend : null,
    error: t.error,
    queuedAt: iso(t.queuedAt),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    duration_s: duration,
  });
  return out;
}

async function* records(db: Db, scope: Scope, searchId: string, columns: Columns, costsOf: (a: Architecture) => Record<string, number> | undefined) {
  for (let after = -1; ; ) {
    const page = await exportTrialPage(db, scope, searchId, after, PAGE);
    for (const t of page) yield exportRecord(t, columns, costsOf);
    if (page.length < PAGE) return;
    after = page.at(-1)!.seq;
  }
}

export const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, spaces } = app.services;

  /** The search's columns and cost model, or 404. */
  const prepare = async (scope: Scope, id: string) => {
    const search = await getSearch(db, scope, id);
    if (!search) throw notFound("search", id);
    let space: SearchSpace | undefined;
    try {
      space = search.spaceDefinition ? spaceOf(search.spaceDefinition) : spaces.get(search.space);
    } catch {
      space = spaces.get(search.space);
    }
    const keys = await exportKeys(db, scope, search.id);
    const declared = space ? space.definition.decisions.map((d) => d.name) : [];
    const decisions = [...declared, ...keys.architecture.filter((k) => !declared.includes(k))];
    const costs = space ? preTrainingMetrics(space) : [];
    const evaluator = search.evaluator as Record<string, unknown>;
    const costsOf = (a: Architecture) => (space ? architectureCosts(space, a, evaluator) : undefined);
    return { search, columns: { decisions, metrics: keys.metrics.filter((m) => m !== "backend"), costs }, costsOf };
  };

  app.get(
    "/v1/searches/:id/trials.csv",
    {
      schema: {
        tags,
        summary: "Every trial of the search as CSV (RFC 4180): decisions, metrics, objective, costs, attempts, worker, backend, timings, parent",
        description:
          "One header line, then one line per trial by seq. Columns: id, seq, kind, status, parentId, archHash, arch.<decision> (a per-layer group as JSON), metric.<name>, objective, cost.<name> (known before training), attempts, worker, backend, error, queuedAt, startedAt, finishedAt, duration_s. Empty fields are nulls.",
        params: uuidParam,
        produces: ["text/csv"],
        response: { 200: z.any().describe("text/csv; charset=utf-8"), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { search, columns, costsOf } = await prepare(request.principal, request.params.id);
      const header = exportHeader(columns);
      async function* lines() {
        yield csvRecord(header);
        for await (const r of records(db, request.principal, search.id, columns, costsOf)) yield csvRecord(header.map((h) => r[h]));
      }
      reply.type("text/csv; charset=utf-8").header("content-disposition", `attachment; filename="trials-${search.id}.csv"`);
      return reply.send(Readable.from(lines()));
    },
  );

  app.get(
    "/v1/searches/:id/trials.jsonl",
    {
      schema: {
        tags,
        summary: "Every trial of the search as JSON lines: one object per trial, the keys of trials.csv with JSON values",
        params: uuidParam,
        produces: ["application/x-ndjson"],
        response: { 200: z.any().describe("application/x-ndjson: one JSON object per line"), 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const { search, columns, costsOf } = await prepare(request.principal, request.params.id);
      async function* lines() {
        for await (const r of records(db, request.principal, search.id, columns, costsOf)) yield `${JSON.stringify(r)}\n`;
      }
      reply.type("application/x-ndjson; charset=utf-8").header("content-disposition", `attachment; filename="trials-${search.id}.jsonl"`);
      return reply.send(Readable.from(lines()));
    },
  );
};
