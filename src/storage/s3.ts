/**
 * The S3-compatible store (DATASET_STORE=s3; MinIO in docker-compose.yml's `s3` profile, AWS S3, …): a dataset's
 * bytes are one object, `datasets/<sha256>` in S3_BUCKET, shared by every dataset row of any project with the same
 * content. One PUT of the whole file (the upload is already in memory, at most DATASET_MAX_BYTES, so no multipart
 * upload); reads stream the object's body. The bucket is created on the first write that finds it missing.
 *
 * Only this folder imports @aws-sdk/* (.dependency-cruiser.cjs), and only when an S3 store is first used (a dynamic
 * import): a process on the default PostgreSQL store, the API's start included, never loads the SDK.
 */
import type * as S3Sdk from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { Config } from "../config.js";
import { DatasetContentMissing, ObjectStoreUnavailable, type DatasetContentRef, type DatasetStore } from "./dataset-store.js";

/** The S3 settings of config.ts (those left out take their defaults there: us-east-1, path style). */
export type S3Settings = Partial<Pick<Config, "S3_ENDPOINT" | "S3_BUCKET" | "S3_REGION" | "S3_ACCESS_KEY_ID" | "S3_SECRET_ACCESS_KEY" | "S3_FORCE_PATH_STYLE">>;

/** The object of a content hash. */
export const objectKey = (sha256: string): string => `datasets/${sha256}`;

/** Socket-level failures of the endpoint (as core/errors.ts counts them for PostgreSQL and Redis). */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

/** True when the store is down or unreachable, not when it refused the request (403, 404: a setting or a bug). */
function isUnavailable(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  if (e.code && SOCKET_CODES.has(e.code)) return true;
  if (e.name === "TimeoutError" || e.name === "RequestTimeout") return true;
  const status = e.$metadata?.httpStatusCode;
  return e.$fault === "server" || (status !== undefined && status >= 500) || (status === undefined && !e.$fault);
}

export class S3DatasetStore implements DatasetStore {
  readonly name = "s3" as const;
  private readonly bucket: string;
  private sdk?: Promise<{ client: S3Client; commands: typeof S3Sdk }>;
  private closed = false;

  constructor(private readonly settings: S3Settings) {
    if (!settings.S3_ENDPOINT || !settings.S3_BUCKET) throw new Error("the S3 store needs S3_ENDPOINT and S3_BUCKET");
    this.bucket = settings.S3_BUCKET;
  }

  /** The SDK and one client, loaded on first use. */
  private open(): Promise<{ client: S3Client; commands: typeof S3Sdk }> {
    this.sdk ??= import("@aws-sdk/client-s3").then((commands) => ({ commands, client: this.createClient(commands) }));
    return this.sdk;
  }

  private createClient({ S3Client }: typeof S3Sdk): S3Client {
    const settings = this.settings;
    return new S3Client({
      endpoint: settings.S3_ENDPOINT,
      region: settings.S3_REGION ?? "us-east-1",
      forcePathStyle: settings.S3_FORCE_PATH_STYLE !== "false",
      ...(settings.S3_ACCESS_KEY_ID && settings.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: settings.S3_ACCESS_KEY_ID, secretAccessKey: settings.S3_SECRET_ACCESS_KEY } } : {}),
      // Checksums only where S3 requires them: S3-compatible servers (s3rver, older MinIO) do not all read the SDK's
      // default CRC32 checksum trailers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 2,
    });
  }

  async put(sha256: string, content: Uint8Array): Promise<void> {
    const { client, commands: { CreateBucketCommand, PutObjectCommand } } = await this.open();
    const put = () => client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey(sha256), Body: content, ContentLength: content.byteLength, ContentType: "application/octet-stream" }));
    try {
      await put();
    } catch (err) {
      if ((err as SdkError).name !== "NoSuchBucket") throw this.failure("write", sha256, err);
      try {
        await client.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((e: SdkError) => {
          if (e.name !== "BucketAlreadyOwnedByYou" && e.name !== "BucketAlreadyExists") throw e;
        });
        await put();
      } catch (again) {
        throw this.failure("write", sha256, again);
      }
    }
  }

  async *get(ref: DatasetContentRef): AsyncIterable<Uint8Array> {
    const { client, commands: { GetObjectCommand } } = await this.open();
    let body: Readable;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey(ref.sha256) }));
      body = res.Body as Readable;
    } catch (err) {
      const name = (err as SdkError).name;
      if (name === "NoSuchKey" || name === "NotFound") throw new DatasetContentMissing(`dataset ${ref.id}: no object ${objectKey(ref.sha256)} in bucket ${this.bucket}`);
      throw this.failure("read", ref.sha256, err);
    }
    try {
      for await (const piece of body) yield piece as Buffer;
    } catch (err) {
      throw this.failure("read", ref.sha256, err);
    }
  }

  async delete(sha256: string): Promise<void> {
    const { client, commands: { DeleteObjectCommand } } = await this.open();
    try {
      await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey(sha256) }));
    } catch (err) {
      if ((err as SdkError).name === "NoSuchKey") return;
      throw this.failure("delete", sha256, err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.sdk?.then(({ client }) => client.destroy(), () => {});
  }

  private failure(what: string, sha256: string, err: unknown): Error {
    const message = `S3 store: could not ${what} ${objectKey(sha256)} in bucket ${this.bucket}: ${(err as SdkError).name ?? "Error"}: ${(err as SdkError).message ?? String(err)}`;
    return isUnavailable(err) ? new ObjectStoreUnavailable(message, { cause: err }) : new Error(message, { cause: err });
  }
}
