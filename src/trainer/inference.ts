/**
 * What a trainer does with an inference job (POST /v1/models/:id/generate, /sample, /log-prob): load the ready
 * model from PostgreSQL (its files, src/models/artifact/), keep the last few loaded, and answer. The API validated
 * the request against the model's manifest (family, vocabulary, row width) before queueing it; what it could not
 * see (a prompt the vocabulary cannot encode after all) comes back as `{ok: false, error}`, a 400.
 *
 * Inference runs in the trainer's own thread on its tfjs backend, beside the training threads: small models,
 * short requests. The API never loads tfjs: it waits for the answer on the queue (INFERENCE_TIMEOUT_MS).
 */
import type { Job } from "bullmq";
import type { Db } from "../db/client.js";
import { modelFiles } from "../db/models.js";
import { answer, loadModelFiles, type LoadedModel } from "../evaluators/inference.js";
import type { InferenceAnswer, InferenceJob } from "../queue/queues.js";

/** Loaded models a trainer keeps (ready models never change, so a cached one is never stale). */
const CACHED_MODELS = 2;

export class InferenceServer {
  private readonly cache = new Map<string, LoadedModel>();

  constructor(private readonly deps: { db: Db; log: (msg: string, extra?: Record<string, unknown>) => void }) {}

  private async model(id: string): Promise<LoadedModel | null> {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const files = await modelFiles(this.deps.db, null, id);
    if (!files) return null;
    const loaded = await loadModelFiles(files.manifest, new Uint8Array(files.weights));
    this.cache.set(id, loaded);
    while (this.cache.size > CACHED_MODELS) {
      const [oldest, model] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      model.dispose();
    }
    return loaded;
  }

  async process(job: Job<InferenceJob>): Promise<InferenceAnswer> {
    const model = await this.model(job.data.modelId);
    if (!model) return { ok: false, error: `model '${job.data.modelId}' is not ready` };
    return answer(model, job.data.op, job.data.input);
  }

  close(): void {
    for (const m of this.cache.values()) m.dispose();
    this.cache.clear();
  }
}
