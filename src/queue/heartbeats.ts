/**
 * Worker heartbeats: every trainer writes what it is (backend, device, the queue it serves, the trial in hand) to one
 * Redis key of its own, refreshed every HEARTBEAT_S seconds and at each trial's start and end, with a time to live of
 * three heartbeats, so a trainer killed outright disappears by itself. `GET /v1/workers` lists them.
 *
 * Plain strings only: the API reads these without loading tfjs (the trainer fills in its backend and device, as
 * src/models/backend.ts names them).
 */
import type { Redis } from "ioredis";
import { z } from "zod";

/** A trainer refreshes its heartbeat this often; the key lives three times as long. */
export const HEARTBEAT_S = 20;
export const HEARTBEAT_TTL_S = 3 * HEARTBEAT_S;

export const workerHeartbeatSchema = z.object({
  id: z.string().describe("the worker's name (WORKER_NAME, default host:pid)"),
  kind: z.literal("trainer").describe("what the worker runs (trainers only, today)"),
  queue: z.enum(["trials", "trials-gpu"]).describe("trials-gpu: a trainer on a GPU backend, which takes the GPU-sized trials (and the others too); trials: a CPU trainer, which never takes GPU-sized trials"),
  backend: z.string().describe("the tfjs backend it trains on, as trials report it (e.g. wasm+openblas, webgpu, tensorflow-gpu)"),
  device: z.string().describe("the device the backend runs on, in words (CPU model and threads, or the GPU adapter)"),
  pid: z.number().int().describe("the process id on its host"),
  host: z.string().describe("the host name"),
  startedAt: z.string().describe("when the trainer started (ISO 8601)"),
  lastSeenAt: z.string().describe("its latest heartbeat (ISO 8601); a worker silent for three heartbeats (60 s) is dropped"),
  running: z.string().nullable().describe("the trial it is training, or null when idle"),
});
export type WorkerHeartbeat = z.infer<typeof workerHeartbeatSchema>;

const keyOf = (prefix: string, id = "*") => `${prefix}:workers:${id}`;

/** Writes (or refreshes) a worker's heartbeat, stamped now. */
export async function writeHeartbeat(redis: Redis, prefix: string, heartbeat: Omit<WorkerHeartbeat, "lastSeenAt">, ttlS = HEARTBEAT_TTL_S): Promise<void> {
  const value: WorkerHeartbeat = { ...heartbeat, lastSeenAt: new Date().toISOString() };
  await redis.set(keyOf(prefix, heartbeat.id), JSON.stringify(value), "EX", ttlS);
}

/** Removes a worker's heartbeat (a trainer that stops cleanly). */
export async function removeHeartbeat(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(keyOf(prefix, id));
}

/** Every live worker's heartbeat, sorted by id; entries that do not parse (another version's) are left out. */
export async function listHeartbeats(redis: Redis, prefix: string): Promise<WorkerHeartbeat[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", keyOf(prefix), "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const out: WorkerHeartbeat[] = [];
  for (const v of values) {
    if (!v) continue; // expired between SCAN and MGET
    try {
      const parsed = workerHeartbeatSchema.safeParse(JSON.parse(v));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // not JSON: not ours
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
