/**
 * Property-based fuzzing of the REST API (fast-check), in-process (app.inject) against the real PostgreSQL (a
 * database of its own) and Redis of this test run. Routes come from the app's OpenAPI document, so a new route is
 * fuzzed without touching this file; requests are generated from and around the JSON schemas of that document
 * (the zod schemas), and from hostile values: wrong types, missing and extra fields, huge, negative, fractional
 * and non-finite numbers, long and odd Unicode (lone surrogates, NUL, RTL marks, emoji), injection strings in
 * paths and queries (SQL, `../`, `%00`, bad percent-encoding), malformed JSON, deep nesting, wrong content types
 * and charsets, and missing or wrong keys.
 *
 * Properties, for every request: the answer is never a 5xx; a 4xx is a JSON body with an `error` code and a
 * message; a 400 `validation_error` lists `issues` whose `field` names a field of the request (or the whole body,
 * query or path); and `/healthz` still answers. At the end `/readyz` does too, and a valid search is still created.
 *
 * `npm test` runs FUZZ_RUNS (default 50) requests per route and per property; `npm run fuzz` runs 5000. A failure
 * prints fast-check's seed and path: rerun it with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>).
 */
import type { FastifyInstance } from "fastify";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { addAlphaSnapshot, completeTrial, saveArtifacts } from "../../src/db/trials.js";
import { advanceSearch } from "../../src/orchestrator/advance.js";
import { freshDatabase } from "../setup/env.js";
import { NB201_SEARCH, openServices } from "../setup/services.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const PATH = process.env.FUZZ_PATH;
const params = { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), ...(PATH ? { path: PATH } : {}) };

let services: Awaited<ReturnType<typeof openServices>>;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let app: FastifyInstance;
let routes: Route[];
const keys = { admin: "", read: "" };
const fixture = { searchId: "", trialId: "", artifact: "density.png" };

beforeAll(async () => {
  database = await freshDatabase("fuzz");
  // Valid generated searches are created for real (and their advances enqueued; no orchestrator runs here): a high
  // quota keeps most of them from being 429s, which are fine answers too. No rate limit: thousands of requests a
  // minute would be 429s, and the requests behind them never reach the code under test.
  services = await openServices({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: `${inject("queuePrefix")}_fuzz`,
    MAX_ACTIVE_SEARCHES_PER_PROJECT: "1000000",
    RATE_LIMIT_PER_MINUTE: "0",
    LOG_LEVEL: "silent",
  });
  app = await services.app();
  await app.ready();
  keys.admin = (await services.key("fuzz")).key;
  keys.read = (await services.key("fuzz", "read")).key;
  // Something to find: a search with trials, a completed one with an artifact and an α snapshot.
  const created = await app.inject({ method: "POST", url: "/v1/searches", headers: { authorization: `Bearer ${keys.admin}` }, payload: { ...NB201_SEARCH, budget: { maxTrials: 20, maxParallel: 4 } } });
  expect(created.statusCode, created.body).toBe(201);
  fixture.searchId = created.json().id;
  const { created: trials } = await advanceSearch(services.db, services.spaces, fixture.searchId);
  fixture.trialId = trials[0]!.id;
  await services.db.trial.update({ where: { id: fixture.trialId }, data: { status: "running", attempts: 1 } });
  await completeTrial(services.db, fixture.trialId, { test_accuracy: 91 }, 91);
  await saveArtifacts(services.db, fixture.trialId, [{ name: fixture.artifact, contentType: "image/png", data: Buffer.from([137, 80, 78, 71]) }]);
  await addAlphaSnapshot(services.db, fixture.trialId, 1, 0, { "layers.0.attention": { full: 1 } });
  routes = routesOf(app);
});
afterAll(async () => {
  await services.close();
  await database.drop();
});

// ---------------------------------------------------------------------------------------------------------------
// The routes, from the OpenAPI document

/** The subset of JSON Schema (as @fastify/swagger writes the zod schemas) the generators read. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  nullable?: boolean;
}

interface Param {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema: Schema;
}

interface Route {
  method: string;
  /** OpenAPI form: /v1/searches/{id}. */
  path: string;
  pathParams: Param[];
  queryParams: Param[];
  body?: Schema;
}

function routesOf(server: FastifyInstance): Route[] {
  const doc = server.swagger() as { paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content?: Record<string, { schema: Schema }> } }>> };
  // The live events of a search are a stream that ends only when its search does (the fixture's never does here):
  // app.inject would wait for it forever. tests/integration/events.test.ts drives that route over HTTP.
  const streams = new Set(["/v1/searches/{id}/events"]);
  return Object.entries(doc.paths).filter(([path]) => !streams.has(path)).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      pathParams: (op.parameters ?? []).filter((p) => p.in === "path"),
      queryParams: (op.parameters ?? []).filter((p) => p.in === "query"),
      body: op.requestBody?.content?.["application/json"]?.schema,
    })),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

const ODD_STRINGS = [
  "", " ", "\u0000", "a\u0000b", "\u0000".repeat(50), "\ud800", "\udfff", "a\ud800b", "\udc00\ud800", "\u202e\u202dabc", "\u200f\u200e", "\u2028\u2029",
  "\ufeff", "\ufffe\uffff", "🧪🔥👩‍👩‍👧‍👦", "e\u0301\u0301\u0301", "ｆｕｌｌ", "\u001b[31mred", "\r\n\t", "\u0085\u009f", "\u007f",
  "' OR 1=1 --", "'; DROP TABLE searches; --", "\" OR \"\"=\"", "1; SELECT pg_sleep(10)", "$1", "%s%s%n", "{{7*7}}", "${jndi:ldap://x/a}",
  "../../../../etc/passwd", "..\\..\\windows", "%00", "%2e%2e%2f", "<script>alert(1)</script>", "null", "undefined", "NaN", "Infinity",
  "-1", "1e999", "0x10", "__proto__", "constructor", "prototype", "toString", "\\", "\"", "'", "`",
];

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(201, 1000, 10_000, 100_000).chain((n) => fc.constantFrom("x".repeat(n), "é".repeat(n), "🧪".repeat(n), "\u0000".repeat(n))) },
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, -0.5, 1e12, -1e12, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE),
  fc.integer(),
  fc.double(), // NaN and ±Infinity become null in JSON
);

/** Nested `depth` levels (kept well below what JSON.stringify itself overflows at; deeper raw texts below). */
const nestedValue = (depth: number, array: boolean): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
};

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [1, 2], { a: 1 }, [[[]]], { __proto__: { a: 1 } }, { constructor: { prototype: { a: 1 } } }) },
  { weight: 1, arbitrary: fc.constantFrom(31, 33, 100, 1000).chain((d) => fc.constantFrom(nestedValue(d, false), nestedValue(d, true))) },
  { weight: 1, arbitrary: fc.constantFrom(1001, 50_000).map((n) => Array.from({ length: n }, (_, i) => i)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
);

// ---------------------------------------------------------------------------------------------------------------
// Values from and around a schema

/** Likely values of some named fields, so that generated bodies get past the first checks into the handlers. */
function hints(): Record<string, fc.Arbitrary<unknown>> {
  const spaceIds = services.spaces.ids();
  return {
    space: fc.constantFrom(...spaceIds),
    metric: fc.constantFrom("test_accuracy", "val_bpc", "val_loss", "accuracy", "gap_nats", "test_nll", "bits_per_dim", "params"),
    cursor: fc.constant(fixture.searchId),
    name: fc.constantFrom("fuzz", "a search", "\u200fבדיקה 🧪"),
  };
}

/** Values the schema (mostly) accepts. */
function fromSchema(schema: Schema | undefined, depth = 0, name?: string): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  const hint = name ? hints()[name] : undefined;
  const own = fromSchemaOnly(schema, depth);
  return hint ? fc.oneof(hint, own) : own;
}

function fromSchemaOnly(schema: Schema, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  if (schema.allOf?.length) return fromSchema(schema.allOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const base = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case "integer": {
        const min = Math.max(schema.minimum ?? -1e6, Number.MIN_SAFE_INTEGER);
        return fc.integer({ min: Math.ceil(min), max: Math.floor(Math.min(schema.maximum ?? min + 1e6, Number.MAX_SAFE_INTEGER, 2 ** 31 - 1)) });
      }
      case "number": {
        const min = schema.minimum ?? -1e6;
        return fc.double({ min, max: schema.maximum ?? min + 1e6, noNaN: true, noDefaultInfinity: true });
      }
      case "string":
        if (schema.format === "uuid") return fc.uuid();
        return fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) }) },
          { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) }) },
        );
      case "boolean":
        return fc.boolean();
      case "array":
        return fc.array(fromSchema(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) });
      case "object": {
        const props = schema.properties ?? {};
        const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, fromSchema(s, depth + 1, k)])), { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
        if (schema.additionalProperties && typeof schema.additionalProperties === "object" && !Object.keys(props).length) {
          return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
        }
        return record;
      }
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  })();
  return schema.nullable ? fc.option(base, { nil: null }) : base;
}

/**
 * One change to a value: replace what is at a path (`typed`: by a hostile value of the same type, a string by an odd
 * string and a number by an odd number, else by any hostile value), delete it, add a key, or wrap it in an array.
 */
type Mutation =
  | { kind: "replace"; value: unknown; typed: boolean; str: string; num: number }
  | { kind: "delete" }
  | { kind: "extra"; key: string; value: unknown }
  | { kind: "wrap" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(hostileValue, fc.boolean(), hostileString, hostileNumber).map(([value, typed, str, num]) => ({ kind: "replace" as const, value, typed, str, num })) },
  { weight: 2, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(hostileString, fc.constantFrom("populationSze", "maxTrails", "typo", "type", "extra")), hostileValue).map(([key, value]) => ({ kind: "extra" as const, key, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: "wrap" as const }) },
);

/** Every container and leaf of a JSON value, as paths. */
function pathsOf(value: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...path, i], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) pathsOf(v, [...path, k], out);
  return out;
}

/** `value` with `m` applied at its `pick`-th path (mod the number of paths): the same request, a little wrong. */
function mutate(value: unknown, pick: number, m: Mutation): unknown {
  const copy = structuredClone(value);
  const paths = pathsOf(copy);
  const path = paths[pick % paths.length]!;
  const replacement = (current: unknown) => {
    if (m.kind !== "replace") return undefined;
    if (m.typed && typeof current === "string") return m.str;
    if (m.typed && typeof current === "number") return m.num;
    return m.value;
  };
  if (!path.length) {
    if (m.kind === "replace") return replacement(copy);
    if (m.kind === "wrap") return [copy];
    if (m.kind === "extra" && copy && typeof copy === "object" && !Array.isArray(copy)) Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    return copy;
  }
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
  const last = path.at(-1)!;
  if (m.kind === "replace") parent[last] = replacement(parent[last]);
  else if (m.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  }
  else if (m.kind === "wrap") parent[last] = [parent[last]];
  else if (parent[last] && typeof parent[last] === "object" && !Array.isArray(parent[last])) Object.defineProperty(parent[last], m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
  else Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
  return copy;
}

/** Values from the schema, some of them mutated once or twice. */
const aroundSchema = (schema: Schema | undefined, name?: string): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 2, arbitrary: fromSchema(schema, 0, name) },
    { weight: 3, arbitrary: fc.tuple(fromSchema(schema, 0, name), fc.nat(), mutation).map(([v, pick, m]) => mutate(v, pick, m)) },
    { weight: 1, arbitrary: fc.tuple(fromSchema(schema, 0, name), fc.nat(), mutation, fc.nat(), mutation).map(([v, p1, m1, p2, m2]) => mutate(mutate(v, p1, m1), p2, m2)) },
  );

/** Search requests known to be valid (the README's, the tests'), whole or mutated. */
const VALID_SEARCHES: unknown[] = [
  NB201_SEARCH,
  { ...NB201_SEARCH, strategy: { type: "evolution", populationSize: 10, sampleSize: 3, seedArchitectures: [{ a: 1 }] } },
  { ...NB201_SEARCH, strategy: { type: "reinforce" }, scheduler: { type: "asha", minBudget: 10, maxBudget: 270, eta: 3 } },
  { ...NB201_SEARCH, strategy: { type: "predictor" }, evaluator: { type: "benchmark", dataset: "cifar10", latencyMs: 0, curveNoise: 2 }, scheduler: { type: "hyperband", minBudget: 1, maxBudget: 27 } },
  { ...NB201_SEARCH, strategy: { type: "local-search" }, budget: { maxTrials: 5, maxParallel: 1, maxFailures: 2 } },
  {
    name: "lm", space: "transformer-lm", strategy: { type: "darts", order: 1, supernetSteps: 40, deriveTop: 2 },
    evaluator: { type: "train", task: "charlm-moby-dick", budget: { steps: 30 }, batchSize: 8, contextLength: 32 }, objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 3,
  },
  { name: "recall", space: "transformer-lm", strategy: { type: "random" }, evaluator: { type: "train", task: "assoc-recall", recall: { keys: 8, values: 8, pairs: 4 } }, objective: { metric: "accuracy", direction: "maximize" }, budget: { maxTrials: 4 } },
  { name: "flow", space: "flow-2d", strategy: { type: "evolution" }, evaluator: { type: "train", task: "8gaussians", budget: { steps: 200 } }, objective: { metric: "gap_nats", direction: "minimize" }, budget: { maxTrials: 4, maxParallel: 2 }, seed: 5 },
  { name: "mnist", space: "flow-mnist", strategy: { type: "darts" }, evaluator: { type: "train", task: "mnist", resolution: 14 }, objective: { metric: "bits_per_dim", direction: "minimize" }, budget: { maxTrials: 2 } },
];

const aroundValidSearch: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...VALID_SEARCHES) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...VALID_SEARCHES), fc.nat(), mutation).map(([v, pick, m]) => mutate(v, pick, m)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...VALID_SEARCHES), fc.nat(), mutation, fc.nat(), mutation).map(([v, p1, m1, p2, m2]) => mutate(mutate(v, p1, m1), p2, m2)) },
);

// ---------------------------------------------------------------------------------------------------------------
// Raw bodies, content types, paths, queries, keys

const deepText = (depth: number, open: string, close: string) => open.repeat(depth) + "1" + close.repeat(depth);
const RAW_BODIES = [
  "", " ", "{", "}", "[", "{\"name\": ", "nul", "NaN", "Infinity", "-", "{'a': 1}", "{\"a\": 1,}", "{\"a\": 01}", "{\"a\": .5}", "{\"a\" 1}", "\ufeff{}",
  "{\"a\": \"\\ud800\"}", "{\"\\u0000\": 1}", "{\"a\": \"\\u0000\"}", "{\"a\": \"\\x00\"}", "{\"__proto__\": {\"a\": 1}}", "{\"constructor\": {\"prototype\": {\"a\": 1}}}",
  "1e999", "{\"name\": 1e999}", "-0", "\"\"", "null", "true", "[]", "{}", "1".repeat(5000), "\u0000", "{\"a\":1}{\"b\":2}", "{\"a\":1}\n{\"b\":2}",
  deepText(10_000, "[", "]"), deepText(10_000, "{\"a\":", "}"), deepText(300_000, "[", "]"), deepText(100_000, "{\"a\":", "}"),
  JSON.stringify(NB201_SEARCH).replace("}", ",\"name\": \"dup\"}"),
  JSON.stringify(NB201_SEARCH).replace('"strategy":{"type":"random"}', `"strategy":{"type":"random","x":${deepText(5000, "[", "]")}}`),
  JSON.stringify(NB201_SEARCH).replace('"strategy":{"type":"random"}', `"strategy":{"type":"evolution","seedArchitectures":[${deepText(10_000, "{\"x\":", "}")}]}`),
];

const rawBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...RAW_BODIES) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  // A valid body broken at one place: a character cut out or put in.
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...VALID_SEARCHES.map((s) => JSON.stringify(s))), fc.nat(), fc.constantFrom("", "{", "}", "\"", ",", "\u0000", "\\", "\ud800")).map(([s, at, c]) => s.slice(0, at % s.length) + c + s.slice((at % s.length) + 1)) },
  { weight: 1, arbitrary: fc.constantFrom(...VALID_SEARCHES).map((s) => Buffer.from(JSON.stringify(s), "utf16le")) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
);

const CONTENT_TYPES = [
  "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json;charset=\"utf-8\"", "Application/JSON",
  "application/json; charset=utf-16", "application/json; charset=utf-16le", "application/json; charset=iso-8859-1", "application/json; charset=utf-32",
  "application/json; charset=", "application/json; charset", "application/json; charset=utf-8; charset=utf-16", "application/json; boundary=x",
  "application/json, text/plain", "application/vnd.api+json", "application/merge-patch+json", "text/plain", "text/html", "text/json",
  "application/x-www-form-urlencoded", "multipart/form-data; boundary=----x", "application/xml", "application/octet-stream", "*/*", "", ";", "json",
];
const contentType: fc.Arbitrary<string | undefined> = fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: fc.constant(undefined) });

/** Path segments as sent: encoded odd strings, and raw encodings that are odd themselves. */
const RAW_SEGMENTS = ["..", ".", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%00", "a%00b", "%", "%zz", "%E0%A4%A", "%C0%AE%C0%AE", "%ED%A0%80", "%FF", ";", "a;b=1", "*", "%27%20OR%201%3D1--", "x".repeat(150), "%20", "+", "~", "@"];
const segment = (param: Param): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: (param.schema.format === "uuid" ? fc.oneof(fc.uuid(), fc.constantFrom(fixture.searchId, fixture.trialId)) : fc.constantFrom(fixture.artifact, ...services.spaces.ids(), "missing")).map(String) },
    { weight: 2, arbitrary: hostileString.filter((s) => s.length > 0 && s.length < 300).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "x"))) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );

/** A query string: the route's parameters (from their schema, or hostile), unknown ones, repeats, raw encodings. */
const queryOf = (route: Route): fc.Arbitrary<string> => {
  const value = (p: Param) =>
    fc.oneof(
      { weight: 3, arbitrary: fromSchema(p.schema, 0, p.name).map((v) => encodeURIComponent(String(v).replace(/[\ud800-\udfff]/g, "x"))) },
      { weight: 2, arbitrary: hostileString.filter((s) => s.length < 20_000).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "x"))) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS, "", "1e400", "-1", "0", "1.5", "NaN", "0x10", "1000000000000") },
    );
  const pairs = route.queryParams.map((p) =>
    fc.oneof(
      { weight: p.required ? 1 : 3, arbitrary: fc.constant([] as string[]) },
      { weight: 4, arbitrary: value(p).map((v) => [`${p.name}=${v}`]) },
      { weight: 1, arbitrary: fc.tuple(value(p), value(p)).map(([a, b]) => [`${p.name}=${a}`, `${p.name}=${b}`]) },
      { weight: 1, arbitrary: value(p).map((v) => [`${p.name}[]=${v}`, `${p.name}[x]=${v}`]) },
    ),
  );
  const extra = fc.oneof({ weight: 4, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom("typo", "limit", "a%00b", "__proto__", "%", "&", "=="), fc.constantFrom("1", "", "%00", "x")).map(([k, v]) => [`${k}=${v}`]) });
  return fc.tuple(fc.tuple(...pairs), extra, fc.boolean()).map(([ps, ex, shuffle]) => {
    const all = [...ps.flat(), ...ex];
    if (shuffle) all.reverse();
    return all.length ? `?${all.join("&")}` : "";
  });
};

const authorization: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 20, arbitrary: fc.constant("admin") },
  { weight: 2, arbitrary: fc.constant("read") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom("Bearer nas_not-a-key-of-anyone-at-all", "Bearer ", "Basic YTpi", "bearer x y", "Bearer ' OR 1=1 --", "Bearer %00", `Bearer ${"k".repeat(5000)}`) },
).map((a) => (a === "admin" ? `Bearer ${keys.admin}` : a === "read" ? `Bearer ${keys.read}` : a));

// ---------------------------------------------------------------------------------------------------------------
// Requests and the properties of their answers

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** The body as sent, when it is JSON of a value. */
  sent?: unknown;
  route: Route;
}

const body = (route: Route): fc.Arbitrary<{ payload?: string | Buffer; sent?: unknown }> => {
  const json = (v: fc.Arbitrary<unknown>) => v.map((sent) => ({ payload: JSON.stringify(sent) ?? "null", sent }));
  const forSearches = route.method === "POST" && route.path === "/v1/searches";
  if (route.body) {
    return fc.oneof(
      { weight: 3, arbitrary: json(aroundSchema(route.body)) },
      ...(forSearches ? [{ weight: 4, arbitrary: json(aroundValidSearch) }] : []),
      { weight: 2, arbitrary: rawBody.map((payload) => ({ payload })) },
      { weight: 1, arbitrary: fc.constant({}) },
    );
  }
  return fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: json(hostileValue) }, { weight: 1, arbitrary: rawBody.map((payload) => ({ payload })) });
};

const requestFor = (route: Route): fc.Arbitrary<Request> => {
  const segments = fc.tuple(...route.pathParams.map((p) => segment(p).map((s) => [p.name, s] as const)));
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS") });
  return fc.tuple(method, segments, queryOf(route), body(route), contentType, authorization).map(([m, segs, query, b, type, auth]) => {
    let path = route.path;
    for (const [name, s] of segs) path = path.replace(`{${name}}`, s);
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers.authorization = auth;
    if (b.payload !== undefined && type !== undefined) headers["content-type"] = type;
    return { method: m, url: path + query, headers, ...b, route };
  });
};

const describeRequest = (r: Request, res?: { statusCode: number; body: string }) => {
  const cut = (s: string) => (s.length > 600 ? `${s.slice(0, 600)}… (${s.length} chars)` : s);
  const payload = r.payload === undefined ? "" : ` body ${cut(typeof r.payload === "string" ? JSON.stringify(r.payload) : `<${r.payload.length} bytes>`)}`;
  return `${r.method} ${cut(r.url)} ${JSON.stringify({ ...r.headers, authorization: r.headers.authorization ? r.headers.authorization.slice(0, 20) : undefined })}${payload}${res ? ` → ${res.statusCode} ${cut(res.body)}` : ""}`;
};

/** The top-level keys (or indices) of the body as sent. */
function topLevel(r: Request): string[] {
  let v = r.sent;
  if (v === undefined && typeof r.payload === "string") {
    try {
      v = JSON.parse(Buffer.from(r.payload, "utf8").toString("utf8")); // as the server reads it: a lone surrogate is sent as U+FFFD
    } catch {
      return [];
    }
  }
  return v && typeof v === "object" ? Object.keys(v) : [];
}
const queryKeys = (url: string) => {
  try {
    return [...new URLSearchParams(url.split("?")[1] ?? "").keys()];
  } catch {
    return [];
  }
};

/** Whether a validation issue names a field of the request: one the route declares, one the request sent, or the whole part. */
function namesAField(issue: { field: string; in: string }, r: Request): boolean {
  // `decisions[3].values` (a search space's paths) names the field `decisions` as much as `decisions.3.values` does.
  const first = issue.field.split(/[.[]/)[0]!;
  if (first === `(${issue.in})`) return true;
  // The route that answered: another method on the same path may be another route (GET and POST /v1/searches).
  const route = routes.find((x) => x.path === r.route.path && x.method === (r.method === "HEAD" ? "GET" : r.method)) ?? r.route;
  switch (issue.in) {
    case "body":
      return Object.keys(route.body?.properties ?? {}).includes(first) || topLevel(r).some((k) => k.startsWith(first.replace(/…$/, "")));
    case "querystring":
      return route.queryParams.some((p) => p.name === first) || queryKeys(r.url).some((k) => k.startsWith(first.replace(/…$/, "")));
    case "params":
      return route.pathParams.some((p) => p.name === first);
    default:
      return false;
  }
}

/** Sends `r` and checks the properties of the answer; counts statuses into `seen`. */
async function check(r: Request, seen: Map<number, number>): Promise<void> {
  const res = await app.inject({ method: r.method as "GET", url: r.url, headers: r.headers, ...(r.payload !== undefined ? { payload: r.payload } : {}) });
  seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
  const what = describeRequest(r, res);
  expect(res.statusCode, what).toBeLessThan(500);
  expect(res.statusCode, what).toBeGreaterThanOrEqual(200);
  if (res.statusCode >= 400 && r.method !== "HEAD") {
    expect(String(res.headers["content-type"]), what).toMatch(/^application\/json/);
    const err = JSON.parse(res.body) as { error?: unknown; message?: unknown; issues?: Array<{ field: string; in: string; message: string }> };
    expect(err.error, what).toMatch(/^[a-z_]+$/);
    expect(typeof err.message, what).toBe("string");
    if (res.statusCode === 400 && err.error === "validation_error") {
      expect(err.issues?.length, what).toBeGreaterThan(0);
      for (const issue of err.issues!) {
        expect(["body", "querystring", "params", "headers"], what).toContain(issue.in);
        expect(issue.field.length, what).toBeGreaterThan(0);
        expect(typeof issue.message, what).toBe("string");
        expect(namesAField(issue, r), `issue ${JSON.stringify(issue)} names no field of ${what}`).toBe(true);
      }
    }
  }
  const health = await app.inject({ url: "/healthz" });
  expect(health.statusCode, `/healthz after ${what}`).toBe(200);
}

const summary = (seen: Map<number, number>) => [...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(" ");
const timeout = 60_000 + RUNS * 400;

describe(`fuzzing the API (${RUNS} runs per route and property; FUZZ_RUNS to change)`, () => {
  it("knows the routes from the OpenAPI document", () => {
    const declared = routes.map((r) => `${r.method} ${r.path}`);
    expect(declared).toEqual(expect.arrayContaining(["POST /v1/searches", "GET /v1/searches/{id}", "GET /v1/trials/{id}/artifacts/{name}", "GET /v1/leaderboard", "GET /healthz"]));
    expect(routes.find((r) => r.method === "POST" && r.path === "/v1/searches")?.body?.properties).toHaveProperty("strategy");
  });

  it("every route: generated paths, queries, keys, content types and bodies get a 2xx or a 4xx with an error code, never a 5xx", { timeout }, async () => {
    const seen = new Map<number, number>();
    for (const route of routes) {
      await fc.assert(fc.asyncProperty(requestFor(route), (r) => check(r, seen)), params);
    }
    console.info(`every route: ${summary(seen)}`);
    expect([...seen.keys()].some((s) => s < 300)).toBe(true);
    expect([...seen.keys()].some((s) => s === 400)).toBe(true);
  });

  it("POST /v1/searches: bodies from and around the schema and the known-valid requests", { timeout }, async () => {
    const route = routes.find((r) => r.method === "POST" && r.path === "/v1/searches")!;
    const seen = new Map<number, number>();
    const request = fc.tuple(fc.oneof(aroundValidSearch, aroundSchema(route.body)), fc.oneof({ weight: 9, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: contentType })).map(
      ([sent, type]): Request => ({ method: "POST", url: "/v1/searches", headers: { authorization: `Bearer ${keys.admin}`, ...(type ? { "content-type": type } : {}) }, payload: JSON.stringify(sent) ?? "null", sent, route }),
    );
    await fc.assert(fc.asyncProperty(request, (r) => check(r, seen)), { ...params, numRuns: RUNS * 8 });
    console.info(`POST /v1/searches: ${summary(seen)}`);
    expect(seen.get(201) ?? 0).toBeGreaterThan(0);
  });

  it("raw bodies (malformed JSON, deep nesting, other charsets, bytes) on every route that takes a body or not", { timeout }, async () => {
    const seen = new Map<number, number>();
    const withBody = routes.filter((r) => r.method === "POST");
    const request = fc.tuple(fc.constantFrom(...withBody), rawBody, contentType).map(([route, payload, type]): Request => {
      const url = route.path.replace("{id}", fixture.searchId);
      return { method: route.method, url, headers: { authorization: `Bearer ${keys.admin}`, ...(type !== undefined ? { "content-type": type } : {}) }, payload, route };
    });
    await fc.assert(fc.asyncProperty(request, (r) => check(r, seen)), { ...params, numRuns: RUNS * 4 });
    console.info(`raw bodies: ${summary(seen)}`);
  });

  it("afterwards the API is ready and still creates a valid search", async () => {
    expect((await app.inject({ url: "/readyz" })).json()).toEqual({ status: "ready", postgres: "ok", redis: "ok" });
    const res = await app.inject({ method: "POST", url: "/v1/searches", headers: { authorization: `Bearer ${keys.admin}` }, payload: NB201_SEARCH });
    expect(res.statusCode, res.body).toBe(201);
  });
});
