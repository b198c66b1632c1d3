/**
 * Datasets in the S3-compatible store (DATASET_STORE=s3) against the real PostgreSQL and a real S3 endpoint: s3rver,
 * a pure-JS S3 server, started in-process on a free port over a temporary folder (what the service talks to is the
 * AWS SDK over HTTP, as with MinIO). An upload writes one object `datasets/<sha256>` and no chunks; GET and the
 * trainer's loader read it; the same bytes from two projects are one object, deleted with the last row that names
 * it; a row that cannot be inserted leaves no object; a PostgreSQL dataset from before the switch stays readable;
 * and the store being unreachable is a 503 with nothing stored.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { classifyError, TrialError } from "../../src/core/errors.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { ObjectStoreUnavailable, openDatasetStores, saveDataset } from "../../src/storage/index.js";
import { datasetForSearch } from "../../src/trainer/datasets.js";
import { makeCorpus } from "../setup/datasets.js";
import { freshDatabase, freePort } from "../setup/env.js";
import { openServices, withKey, type Client } from "../setup/services.js";

interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: Record<string, unknown>) => S3rverServer;

const BUCKET = "nas-datasets-test";
const CREDENTIALS = { S3_ACCESS_KEY_ID: "S3RVER", S3_SECRET_ACCESS_KEY: "S3RVER" }; // s3rver's default key pair

let database: Awaited<ReturnType<typeof freshDatabase>>;
let services: Awaited<ReturnType<typeof openServices>>;
let s3rver: S3rverServer;
let s3dir: string;
let endpoint: string;
let inspect: S3Client;
let a: Client;
let b: Client;
let projectA: string;

beforeAll(async () => {
  s3dir = mkdtempSync(path.join(os.tmpdir(), "nas-s3rver-"));
  s3rver = new S3rver({ address: "127.0.0.1", port: await freePort(), silent: true, directory: s3dir });
  const { port } = await s3rver.run();
  endpoint = `http://127.0.0.1:${port}`;
  inspect = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  database = await freshDatabase("datasets_s3");
  services = await openServices({
    DATABASE_URL: database.url,
    QUEUE_PREFIX: `${inject("queuePrefix")}_datasets_s3`,
    AUTH_CACHE_S: "0",
    DATASET_STORE: "s3",
    S3_ENDPOINT: endpoint,
    S3_BUCKET: BUCKET,
    ...CREDENTIALS,
  });
  const raw = await services.app();
  const ka = await services.key("s3-a");
  projectA = ka.projectId;
  a = withKey(raw, ka.key);
  b = withKey(raw, (await services.key("s3-b")).key);
}, 60_000);
afterAll(async () => {
  inspect?.destroy();
  await services?.close();
  await database?.drop();
  await s3rver?.close().catch(() => {});
  if (s3dir) rmSync(s3dir, { recursive: true, force: true });
});

const upload = (client: Client, kind: string, body: Buffer | string, name = "file") =>
  client.inject({ method: "POST", url: `/v1/datasets?kind=${kind}&name=${name}`, headers: { "content-type": "application/octet-stream" }, payload: typeof body === "string" ? Buffer.from(body) : body });

/** The keys in the bucket. */
async function objects(): Promise<string[]> {
  const res = await inspect.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function objectBytes(key: string): Promise<Buffer> {
  const res = await inspect.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function rows(): Promise<{ datasets: number; chunks: number }> {
  const { rows } = await services.db.pool.query<{ datasets: number; chunks: number }>("SELECT (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM dataset_chunks) AS chunks");
  return rows[0]!;
}

const searchOn = (client: Client, datasetId: string) =>
  client.inject({
    method: "POST",
    url: "/v1/searches",
    payload: { name: "on-s3", space: "transformer-lm", strategy: { type: "random" }, evaluator: { type: "train", dataset: datasetId, budget: { steps: 5 }, contextLength: 16 }, objective: { metric: "val_bpc", direction: "minimize" }, budget: { maxTrials: 1, maxParallel: 1 }, seed: 3 },
  });

describe("DATASET_STORE=s3", () => {
  it("is refused at start without S3_ENDPOINT or S3_BUCKET, naming the setting", () => {
    expect(() => loadConfig({ DATASET_STORE: "s3", S3_BUCKET: BUCKET })).toThrow(new ConfigError("invalid setting S3_ENDPOINT: DATASET_STORE=s3 needs S3_ENDPOINT (the S3-compatible store's URL)"));
    expect(() => loadConfig({ DATASET_STORE: "s3", S3_ENDPOINT: endpoint })).toThrow(/invalid setting S3_BUCKET: DATASET_STORE=s3 needs S3_BUCKET/);
    expect(() => loadConfig({ DATASET_STORE: "s3", S3_ENDPOINT: endpoint, S3_BUCKET: BUCKET, S3_ACCESS_KEY_ID: "k" })).toThrow(/S3_SECRET_ACCESS_KEY: set both/);
    expect(() => loadConfig({ DATASET_STORE: "s4" })).toThrow(/invalid setting DATASET_STORE/);
    expect(loadConfig({}).DATASET_STORE).toBe("postgres");
  });

  const corpus = Buffer.from(makeCorpus(31, 30_000)); // > 1 MB: one object all the same (no chunks)
  let dataset: { id: string; sha256: string };

  it("an upload is one object datasets/<sha256> in the bucket (created when missing) and no chunks in PostgreSQL", async () => {
    const res = await upload(a, "text", corpus, "big.txt");
    expect(res.statusCode, res.body).toBe(201);
    dataset = res.json();
    expect(res.json()).toMatchObject({ kind: "text", store: "s3", bytes: corpus.length });
    expect(await objects()).toEqual([`datasets/${dataset.sha256}`]);
    expect((await objectBytes(`datasets/${dataset.sha256}`)).equals(corpus)).toBe(true);
    expect(await rows()).toEqual({ datasets: 1, chunks: 0 });
    const one = await a.inject(`/v1/datasets/${dataset.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: dataset.id, store: "s3", stats: { characters: expect.any(Number), vocabularySize: expect.any(Number) } });
    expect((await a.inject("/v1/datasets")).json().items.map((d: { id: string }) => d.id)).toEqual([dataset.id]);
  });

  it("the trainer's loader reads it from S3 once, whatever DATASET_STORE says now, and caches it by hash", async () => {
    const search = await searchOn(a, dataset.id);
    expect(search.statusCode, search.body).toBe(201);
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), "nas-s3-cache-"));
    // A trainer configured for PostgreSQL uploads still reads the dataset where its row says it is.
    const trainerConfig = { ...services.config, DATASET_STORE: "postgres" as const, DATASET_CACHE_DIR: cacheDir };
    const first = await datasetForSearch(services.db, trainerConfig, search.json().id, { dataset: dataset.id }, 3);
    expect(first).toMatchObject({ id: dataset.id, kind: "text", sha256: dataset.sha256 });
    expect(readFileSync(first!.path).equals(corpus)).toBe(true);
    const written = statSync(first!.path).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = await datasetForSearch(services.db, trainerConfig, search.json().id, { dataset: dataset.id }, 3);
    expect(statSync(again!.path).mtimeMs).toBe(written);
    // Without the S3 settings a trainer cannot read it: the trial's fault (retrying cannot help), said plainly.
    const noS3 = { DATASET_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), "nas-s3-cache-")) };
    await expect(datasetForSearch(services.db, noS3, search.json().id, { dataset: dataset.id }, 3)).rejects.toThrow(/S3_ENDPOINT and S3_BUCKET are not set/);
    await a.inject({ method: "POST", url: `/v1/searches/${search.json().id}/cancel` });
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(noS3.DATASET_CACHE_DIR, { recursive: true, force: true });
  });

  it("the same bytes twice (and from another project) are one object, removed with the last row that names it", async () => {
    expect((await upload(a, "text", corpus, "again.txt")).statusCode).toBe(200);
    const other = await upload(b, "text", corpus, "b.txt");
    expect(other.statusCode, other.body).toBe(201);
    expect(other.json()).toMatchObject({ id: dataset.id, store: "s3" });
    expect(await objects()).toEqual([`datasets/${dataset.sha256}`]);
    expect((await a.inject({ method: "DELETE", url: `/v1/datasets/${dataset.id}` })).statusCode).toBe(204);
    expect(await objects()).toEqual([`datasets/${dataset.sha256}`]); // project B's row still names it
    expect((await b.inject({ method: "DELETE", url: `/v1/datasets/${dataset.id}` })).statusCode).toBe(204);
    expect(await objects()).toEqual([]);
    expect(await rows()).toEqual({ datasets: 0, chunks: 0 });
  });

  it("a row that cannot be inserted after its object was written leaves no object", async () => {
    const stores = openDatasetStores(services.db, services.config);
    const content = Buffer.from("orphan? no ".repeat(100));
    const row = { id: "ds_0123456789abcdef0123", name: "x", kind: "audio" as never, sha256: "f".repeat(64), bytes: content.length, stats: {} as never, content, chunks: [content] };
    await expect(saveDataset(services.db, stores, { projectId: projectA }, row)).rejects.toThrow(/datasets_kind_check/);
    expect(await objects()).toEqual([]);
    expect(await rows()).toEqual({ datasets: 0, chunks: 0 });
    stores.close();
  });

  it("a dataset stored in PostgreSQL before the switch is still read, shown and deleted", async () => {
    const pg = openDatasetStores(services.db, { ...services.config, DATASET_STORE: "postgres" });
    const content = Buffer.from(makeCorpus(32));
    const { createHash } = await import("node:crypto");
    const sha256 = createHash("sha256").update(content).digest("hex");
    const id = `ds_${createHash("sha256").update("text\n").update(content).digest("hex").slice(0, 20)}`;
    const { dataset: old } = await saveDataset(services.db, pg, { projectId: projectA }, { id, name: "old", kind: "text", sha256, bytes: content.length, stats: { format: "utf-8", characters: content.length, vocabularySize: 10 }, content, chunks: [content] });
    expect(old.store).toBe("postgres");
    expect(await objects()).toEqual([]);
    const search = await searchOn(a, id);
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), "nas-s3-cache-"));
    const read = await datasetForSearch(services.db, { ...services.config, DATASET_CACHE_DIR: cacheDir }, search.json().id, { dataset: id }, 3);
    expect(readFileSync(read!.path).equals(content)).toBe(true);
    await a.inject({ method: "POST", url: `/v1/searches/${search.json().id}/cancel` });
    expect((await a.inject({ method: "DELETE", url: `/v1/datasets/${id}` })).statusCode).toBe(204);
    expect(await rows()).toEqual({ datasets: 0, chunks: 0 });
    rmSync(cacheDir, { recursive: true, force: true });
    pg.close();
  });

  it("the S3 store unreachable: upload and delete answer 503 with Retry-After, nothing stored or lost; a missing object fails the trial", async () => {
    const kept = (await upload(a, "text", makeCorpus(33), "kept.txt")).json();
    const search = await searchOn(a, kept.id);
    // The object vanishes behind the service's back: the trial cannot train on it (not retried forever).
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    await inspect.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `datasets/${kept.sha256}` }));
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), "nas-s3-cache-"));
    await expect(datasetForSearch(services.db, { ...services.config, DATASET_CACHE_DIR: cacheDir }, search.json().id, { dataset: kept.id }, 3)).rejects.toBeInstanceOf(TrialError);
    await a.inject({ method: "POST", url: `/v1/searches/${search.json().id}/cancel` });

    await s3rver.close();
    const before = await rows();
    const started = Date.now();
    const res = await upload(a, "text", makeCorpus(34), "down.txt");
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.json()).toMatchObject({ error: "service_unavailable", message: expect.stringContaining("S3") });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await rows()).toEqual(before);
    const del = await a.inject({ method: "DELETE", url: `/v1/datasets/${kept.id}` });
    expect(del.statusCode, del.body).toBe(503);
    expect((await a.inject(`/v1/datasets/${kept.id}`)).statusCode).toBe(200); // still there: nothing half-deleted
    // A trainer reading it meets an outage, not the trial's fault: retried like PostgreSQL's (core/infra.ts).
    const outage = await datasetForSearch(services.db, { ...services.config, DATASET_CACHE_DIR: cacheDir }, search.json().id, { dataset: kept.id }, 3).catch((e: unknown) => e);
    expect(outage).toBeInstanceOf(ObjectStoreUnavailable);
    expect(classifyError(outage)).toBe("infra");
    rmSync(cacheDir, { recursive: true, force: true });
  });
});
