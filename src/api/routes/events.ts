/**
 * GET /v1/searches/:id/events: a search's live events as Server-Sent Events (contracts.md: `search`, `trial.queued`,
 * `trial.started`, `trial.completed`, `trial.pruned`, `trial.failed`, `trial.cancelled`, `curve`, `best`, `end`).
 *
 * The events are rows of PostgreSQL (db/events.ts, written by triggers in the transactions that make the changes),
 * so a stream replays a search's history from `Last-Event-ID` (or `?lastEventId=`, or from the start) and then
 * follows it, whichever API process serves it: NOTIFY wakes it at once, EVENTS_POLL_MS is the fallback. `search`
 * and `end` carry the search's JSON as GET /v1/searches lists it, read when the event is sent (so a replay shows
 * the search as it is now; consecutive `search` events of one read are sent once, as the last of them); `trial.*`
 * the trial's JSON as the change left it. A comment (`: ping`) every 15 s keeps proxies from closing a quiet
 * stream. After `end` the server closes the stream; a client that goes away frees everything at once (its listener,
 * its timers; no statement is held open between reads).
 */
import type { ServerResponse } from "node:http";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { EventNotifier, readEvents, trialRowOfEvent, type StoredEvent } from "../../db/events.js";
import type { Principal } from "../../db/projects.js";
import { getSearch } from "../../db/searches.js";
import type { TrialRow } from "../../db/trials.js";
import { badRequest, errorBodySchema, notFound } from "../errors.js";
import { uuidParam } from "../schemas.js";
import { searchJson, trialPlanOf, trialsJson } from "../views.js";

/** Seconds between two `: ping` comments of a quiet stream. */
export const PING_S = 15;
/** Events read per statement: a long history is sent in pages of this many. */
const PAGE = 500;
/** After a wake-up, how long a stream waits for more changes before it reads (a burst is read once). */
const COALESCE_MS = 50;

const ENDED = new Set(["completed", "failed", "cancelled"]);

export const eventRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, config, spaces } = app.services;
  const notifier = new EventNotifier(config.DATABASE_URL, (err) => app.log.warn({ err: err.message }, "events: the LISTEN connection to PostgreSQL was lost; streams poll until it is back"));
  /** Open streams, ended when the app closes (a stream would otherwise hold the server's close forever). */
  const open = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of [...open]) end();
  });
  app.addHook("onClose", async () => notifier.close());

  app.get(
    "/v1/searches/:id/events",
    {
      schema: {
        tags: ["searches"],
        summary: "A search's live events (Server-Sent Events): replayed from Last-Event-ID, then followed until the search ends",
        description:
          "`text/event-stream`. Each message has `id` (an integer increasing per search), `event` (search, trial.queued, trial.started, " +
          "trial.completed, trial.pruned, trial.failed, trial.cancelled, curve, best, end) and `data` (one JSON line: the search as " +
          "GET /v1/searches lists it for search and end, the trial for trial.*, {trialId, step, metrics} for curve, {trialId, objective, " +
          "architecture} for best). Send `Last-Event-ID` (or `?lastEventId=`) to resume after an event; without it the whole history is " +
          "replayed. `: ping` every 15 s; after `end` the server closes the stream.",
        params: uuidParam,
        headers: z.looseObject({
          "last-event-id": z.string().optional().describe("resume after this event id (the id of the last event read; default: from the start)"),
        }),
        querystring: z.object({
          lastEventId: z.coerce.number().int().min(0).optional().describe("resume after this event id (as the Last-Event-ID header; default: from the start)"),
        }),
        response: {
          200: { description: "the event stream", content: { "text/event-stream": { schema: z.string().describe("messages of `id`, `event` and `data` lines, and `: ping` comments") } } },
          400: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const principal: Principal = request.principal;
      const searchId = request.params.id;
      const header = request.headers["last-event-id"];
      let after = request.query.lastEventId ?? 0;
      if (header !== undefined && header !== "") {
        const value = Number(Array.isArray(header) ? header[0] : header);
        if (!Number.isInteger(value) || value < 0) throw badRequest("Last-Event-ID", "must be the integer id of an event");
        after = value;
      }
      const search = await getSearch(db, principal, searchId);
      if (!search) throw notFound("search", searchId);
      const plan = trialPlanOf(search, spaces);

      reply.hijack();
      const res: ServerResponse = reply.raw;
      // A stream is quiet for long stretches: no socket timeout (API_REQUEST_TIMEOUT_MS is for requests arriving).
      request.raw.socket?.setTimeout?.(0);
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        // nginx and similar proxies buffer responses unless told not to.
        "x-accel-buffering": "no",
      });
      res.flushHeaders();
      // HEAD (which fastify answers for every GET route): the headers say what the stream is; there is no body.
      if (request.method === "HEAD") return void res.end();

      let closed = false;
      let wake: (() => void) | null = null;
      let woken = false;
      const poke = () => {
        woken = true;
        wake?.();
      };
      const finish = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(ping);
        open.delete(finish);
        poke();
        if (!res.writableEnded) res.end();
      };
      const unsubscribe = notifier.subscribe(searchId, poke);
      const ping = setInterval(() => !closed && res.write(": ping\n\n"), PING_S * 1000);
      open.add(finish);
      res.on("close", finish);
      res.on("error", finish);

      const send = (id: number, type: string, data: unknown) => {
        if (!closed) res.write(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      /** Resolves at a wake-up, the poll interval, or the stream's end. */
      const idle = () =>
        new Promise<void>((resolve) => {
          if (woken || closed) return resolve();
          const timer = setTimeout(() => done(), config.EVENTS_POLL_MS);
          const done = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
          wake = done;
        });

      /** Sends one page of events; returns how many were read and whether `end` was among them. */
      const sendPage = async (events: StoredEvent[]): Promise<boolean> => {
        const trials = events.filter((e) => e.type.startsWith("trial."));
        const views = trials.length ? await trialsJson(db, principal, plan, trials.map((e) => trialRowOfEvent<TrialRow>(e.data))) : [];
        const viewOf = new Map(trials.map((e, i) => [e, views[i]]));
        let current: Awaited<ReturnType<typeof searchJson>> | undefined;
        const searchNow = async () => {
          if (current) return current;
          const row = await getSearch(db, principal, searchId);
          return (current = row ? await searchJson(db, principal, row) : undefined);
        };
        for (const [i, e] of events.entries()) {
          if (closed) return false;
          after = e.seq;
          if (e.type === "search") {
            // A run of `search` events would all carry the search as it is now: the last of the run stands for it.
            if (events[i + 1]?.type === "search") continue;
            send(e.seq, e.type, await searchNow());
          } else if (e.type === "end") {
            send(e.seq, e.type, await searchNow());
            return true;
          } else if (e.type.startsWith("trial.")) send(e.seq, e.type, viewOf.get(e));
          else send(e.seq, e.type, e.data);
        }
        return false;
      };

      try {
        for (;;) {
          woken = false;
          const events = await readEvents(db, principal, searchId, after, PAGE);
          if (closed) break;
          if (await sendPage(events)) break;
          if (events.length === PAGE) continue;
          if (events.length === 0) {
            // A search that ended before events were recorded (or whose `end` this client already has) has no `end`
            // to come: say it ended, and close. (Its status and its `end` event commit together, so an ended search
            // whose `end` was not read yet shows it on the next read.)
            const row = await getSearch(db, principal, searchId);
            if (!row) break;
            if (ENDED.has(row.status)) {
              const more = await readEvents(db, principal, searchId, after, PAGE);
              if (more.length) {
                if (await sendPage(more)) break;
                continue;
              }
              send(after, "end", await searchJson(db, principal, row));
              break;
            }
          }
          await idle();
          if (woken && !closed) await new Promise((r) => setTimeout(r, COALESCE_MS));
          if (closed) break;
        }
      } catch (err) {
        request.log.warn({ err: (err as Error).message, searchId }, "events stream stopped by an error");
      } finally {
        finish();
      }
    },
  );
};
