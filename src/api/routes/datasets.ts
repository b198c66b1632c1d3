/**
 * /v1/datasets: data that users bring (a text corpus, real-valued vectors, grayscale images), stored once by content
 * in the key's project, listed, shown with their statistics and deleted when no active search trains on them.
 *
 * An upload is the file itself as the raw body (`content-type: application/octet-stream`), streamed: the size is
 * counted as it arrives (413 past DATASET_MAX_BYTES, nothing read further), the whole file is then validated
 * (src/datasets/: UTF-8, ragged rows, NaN, IDX magic, …, 400 naming the place) and stored with its content in one
 * transaction, in the store DATASET_STORE names (src/storage/: PostgreSQL chunks, or one object in an S3-compatible
 * store; 503 while that store is unreachable). An upload that fails or is interrupted stores nothing. The same bytes
 * uploaded again as the same kind are the same dataset: 200 with the stored one (201 when it is new).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { FastifyRequest } from "fastify";
import type { Readable } from "node:stream";
import { z } from "zod";
import { DatasetHasher, DatasetInvalid, datasetIdSchema, datasetKindSchema, datasetStatsSchema, DATASET_STORES, parseDataset, smallestHeldOutText, splitRows, type DatasetKind } from "../../datasets/index.js";
import { DATASET_CHUNK_BYTES, getDataset, listDatasets, type DatasetRow } from "../../db/datasets.js";
import { ObjectStoreUnavailable, openDatasetStores, removeDataset, saveDataset } from "../../storage/index.js";
import { objectiveList, type SearchSpace } from "../../catalogue/index.js";
import { datasetIncompatibility, datasetTaskId } from "../../catalogue/tasks.js";
import type { Scope } from "../../db/projects.js";
import type { Db } from "../../db/client.js";
import { ApiError, badRequest, errorBodySchema, notFound, UNAVAILABLE_RETRY_AFTER_S } from "../errors.js";
import { text } from "../schemas.js";

const tags = ["datasets"];

export const datasetSchema = z
  .object({
    id: z.string().describe("ds_ + the first 20 hex digits of sha256(kind + \"\\n\" + bytes): the same bytes as the same kind are the same dataset"),
    name: z.string(),
    kind: datasetKindSchema,
    bytes: z.number().int().describe("size of the file"),
    sha256: z.string().describe("SHA-256 of the file's bytes"),
    stats: datasetStatsSchema.describe("text: characters, vocabularySize; vectors: rows, dimension, mean and std per column; images: count, shape"),
    store: z.enum(DATASET_STORES).describe("where the bytes are kept: postgres (chunks in the database) or s3 (one object in the S3-compatible store), as DATASET_STORE said at upload (default postgres)"),
    createdAt: z.string(),
    usedBy: z.array(z.string()).describe("ids of the project's queued or running searches that train on it"),
  })
  .describe("Dataset");

const datasetParam = z.object({ id: datasetIdSchema });

const view = (d: DatasetRow) => ({ ...d, createdAt: d.createdAt.toISOString() });

/** The body stream of an upload, kept aside by the octet-stream parser (a stream is not a JSON body to check). */
const uploads = new WeakMap<FastifyRequest, Readable>();

function invalid(err: DatasetInvalid): ApiError {
  if (err.status === 413) return new ApiError(413, "payload_too_large", err.message);
  return new ApiError(400, "validation_error", `body: ${err.message}`, [{ field: "body", in: "body", message: err.message }]);
}

/**
 * Reads the upload into one buffer (sized from content-length when the client sends it, else grown by doubling),
 * hashing it as it arrives, and refusing it as soon as it passes `max` bytes: then the rest of the body is not read
 * (as fastify's own body limit does) and the answer closes the connection. A client that goes away mid-body
 * rejects it (the stream closes without its end). The content is returned whole (to parse) and as views of it in
 * pieces of DATASET_CHUNK_BYTES (to store), without a second copy.
 */
function receive(stream: Readable, kind: DatasetKind, max: number, declared: number | undefined): Promise<{ content: Buffer; chunks: Uint8Array[]; id: string; sha256: string; bytes: number }> {
  const hasher = new DatasetHasher(kind);
  let content = Buffer.allocUnsafe(declared !== undefined && declared <= max ? declared : Math.min(max, 1 << 16));
  return new Promise((resolve, reject) => {
    if (declared !== undefined && declared > max) return reject(new DatasetInvalid(`the file (content-length ${declared}) is larger than DATASET_MAX_BYTES = ${max} bytes`, 413));
    const stop = () => {
      stream.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      stream.pause();
    };
    const onData = (buf: Buffer) => {
      const length = hasher.bytes + buf.length;
      if (length > max) {
        stop();
        return reject(new DatasetInvalid(`the file is larger than DATASET_MAX_BYTES = ${max} bytes`, 413));
      }
      if (length > content.length) {
        const grown = Buffer.allocUnsafe(Math.min(max, Math.max(length, 2 * content.length)));
        content.copy(grown, 0, 0, hasher.bytes);
        content = grown;
      }
      buf.copy(content, hasher.bytes);
      hasher.update(buf);
    };
    const onEnd = () => {
      stop();
      const whole = content.subarray(0, hasher.bytes);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < whole.length; at += DATASET_CHUNK_BYTES) chunks.push(whole.subarray(at, at + DATASET_CHUNK_BYTES));
      resolve({ content: whole, chunks, ...hasher.digest(), bytes: hasher.bytes });
    };
    // The client's doing, not the server's: a 400 (nobody may be left to read it), never a 500 in the logs.
    const onError = (err: Error) => {
      stop();
      reject(new DatasetInvalid(`the upload was interrupted after ${hasher.bytes} bytes (${err.message})`));
    };
    const onClose = () => onError(new Error("the connection closed before the end of the body"));
    stream.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/** The object store being down is the service's outage, not the client's mistake: 503 with Retry-After, like PostgreSQL's. */
async function orUnavailable<T>(reply: { header(name: string, value: number): unknown }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ObjectStoreUnavailable)) throw err;
    reply.header("retry-after", UNAVAILABLE_RETRY_AFTER_S);
    throw new ApiError(503, "service_unavailable", `the dataset store (S3) is unreachable; retry in ${UNAVAILABLE_RETRY_AFTER_S} s`);
  }
}

export const datasetRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, config } = app.services;
  const stores = openDatasetStores(db, config);
  app.addHook("onClose", async () => stores.close());

  // Only this plugin's routes take octet-stream bodies (content-type parsers are encapsulated per plugin).
  app.addContentTypeParser("application/octet-stream", (request, payload, done) => {
    uploads.set(request, payload);
    done(null, undefined);
  });

  app.post(
    "/v1/datasets",
    {
      schema: {
        tags,
        summary: "Upload a dataset: the file as the raw body (application/octet-stream)",
        description:
          "text: a UTF-8 corpus; vectors: CSV (a header line allowed) or .npy float32/float64 of shape (n,) or (n, d); images: IDX of unsigned bytes (n × h × w or n × d) or .npy uint8. " +
          "201 with the new dataset; 200 with the stored one when the same bytes were uploaded before as the same kind (its first name is kept). 400 names the problem and the place (byte offset, line, row, column); 413 past DATASET_MAX_BYTES.",
        consumes: ["application/octet-stream"],
        querystring: z.strictObject({
          kind: datasetKindSchema.describe("text, vectors or images: how the file is read and which searches may train on it"),
          name: text(200).optional().describe("a name to recognise it by (default: the dataset's id)"),
        }),
        response: { 200: datasetSchema, 201: datasetSchema, 400: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema },
      },
    },
    async (request, reply) => {
      const stream = uploads.get(request);
      if (!stream) throw new ApiError(415, "unsupported_media_type", "send the file as the raw body with content-type: application/octet-stream");
      const { kind, name } = request.query;
      let received;
      let stats;
      try {
        const length = Number(request.headers["content-length"]);
        received = await receive(stream, kind, config.DATASET_MAX_BYTES, Number.isSafeInteger(length) && length >= 0 ? length : undefined);
        stats = parseDataset(kind, received.content).stats;
      } catch (err) {
        if (err instanceof DatasetInvalid) {
          if (err.status === 413) reply.header("connection", "close"); // the rest of the body is not read
          throw invalid(err);
        }
        throw err;
      }
      const upload = { id: received.id, name: name ?? received.id, kind, sha256: received.sha256, bytes: received.bytes, stats, content: received.content, chunks: received.chunks };
      const { dataset, created } = await orUnavailable(reply, () => saveDataset(db, stores, request.principal, upload));
      reply.status(created ? 201 : 200).header("location", `/v1/datasets/${dataset.id}`);
      return view(dataset);
    },
  );

  app.get(
    "/v1/datasets",
    {
      schema: {
        tags,
        summary: "List the project's datasets, newest first",
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(1000).default(50).describe("page size (default 50)"),
          cursor: datasetIdSchema.optional().describe("nextCursor of the previous page"),
        }),
        response: { 200: z.object({ items: z.array(datasetSchema), nextCursor: z.string().nullable() }), 400: errorBodySchema },
      },
    },
    async (request) => {
      const page = await listDatasets(db, request.principal, request.query);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/v1/datasets/:id",
    { schema: { tags, summary: "A dataset: kind, size, hash, statistics and the active searches that use it", params: datasetParam, response: { 200: datasetSchema, 400: errorBodySchema, 404: errorBodySchema } } },
    async (request) => {
      const dataset = await getDataset(db, request.principal, request.params.id);
      if (!dataset) throw notFound("dataset", request.params.id);
      return view(dataset);
    },
  );

  app.delete(
    "/v1/datasets/:id",
    {
      schema: {
        tags,
        summary: "Delete a dataset and its content (409 while a queued or running search trains on it, or a model is retrained from one)",
        params: datasetParam,
        response: { 204: z.null().describe("deleted"), 400: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema },
      },
    },
    async (request, reply) => {
      const result = await orUnavailable(reply, () => removeDataset(db, stores, request.principal, request.params.id));
      if (result === "not_found") throw notFound("dataset", request.params.id);
      if (result !== "deleted" && result.trainingModels) throw new ApiError(409, "conflict", `dataset '${request.params.id}' is used by models being retrained: ${result.trainingModels.join(", ")}; wait for them to be ready`);
      if (result !== "deleted") throw new ApiError(409, "conflict", `dataset '${request.params.id}' is used by active searches ${result.usedBy.join(", ")}: cancel them or wait for them to end`);
      return reply.status(204).send(null);
    },
  );
};

/**
 * For POST /v1/searches: the leaderboard task of a `train` search on an uploaded dataset (`charlm:<id>@<steps>steps`,
 * `vectors:…`, `images:…`), after checking that the dataset is the project's and fits the search (400 naming
 * `evaluator.dataset`, the objective or the context length); undefined for a search without a dataset.
 */
export async function searchDatasetTask(
  db: Db,
  scope: Scope,
  space: SearchSpace,
  body: { evaluator: Record<string, unknown>; strategy: { type: string }; objective: Parameters<typeof objectiveList>[0]; scheduler?: { maxBudget: number } | null },
): Promise<string | undefined> {
  const { type, dataset: id, ...options } = body.evaluator;
  if (type !== "train" || typeof id !== "string") return undefined;
  const dataset = await getDataset(db, scope, id);
  if (!dataset) throw badRequest("evaluator.dataset", `no dataset '${id}' in this project (upload it with POST /v1/datasets)`);
  if (body.strategy.type === "darts") throw badRequest("evaluator.dataset", "DARTS trains its supernet on the built-in tasks only, not on uploaded datasets");
  const heldOut = dataset.kind === "text" ? smallestHeldOutText((dataset.stats as { characters: number }).characters) : splitRows(dataset.kind === "vectors" ? (dataset.stats as { rows: number }).rows : (dataset.stats as { count: number }).count, 0).val.length;
  const problem = datasetIncompatibility(space.family, { id, kind: dataset.kind, heldOut }, options, objectiveList(body.objective).map((o) => o.metric));
  if (problem) throw badRequest(problem.field, problem.message);
  const steps = body.scheduler?.maxBudget ?? (options.budget as { steps?: number } | undefined)?.steps ?? "default";
  return `${datasetTaskId(dataset.kind, id)}@${steps}steps`;
}
