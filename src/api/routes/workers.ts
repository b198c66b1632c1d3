/**
 * GET /v1/workers: the trainers alive now, from their heartbeats in Redis (src/queue/heartbeats.ts): each one's
 * backend and device, the queue it serves, and the trial in hand.
 *
 * Any key may read it (read role), and it is not scoped by project: workers are shared infrastructure that every
 * project's trials run on, and a heartbeat holds no project data (the trial in hand is an id only, which another
 * project's key cannot open: GET /v1/trials/:id answers 404 to it).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { listHeartbeats, workerHeartbeatSchema } from "../../queue/heartbeats.js";

export const workerRoutes: FastifyPluginAsyncZod = async (app) => {
  const { redis, config } = app.services;

  app.get(
    "/v1/workers",
    {
      schema: {
        tags: ["workers"],
        summary: "The trainers alive now (heartbeat within 60 s): backend, device, queue and the trial in hand; shared by every project",
        response: { 200: z.object({ items: z.array(workerHeartbeatSchema).describe("one per live trainer, sorted by id") }) },
      },
    },
    async () => ({ items: await listHeartbeats(redis, config.QUEUE_PREFIX) }),
  );
};
