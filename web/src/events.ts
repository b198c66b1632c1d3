/**
 * A search's live events (`GET /v1/searches/:id/events`, Server-Sent Events) through the typed client's reader
 * (src/client/events.ts: fetch with the key in the Authorization header, resumed after a dropped connection from
 * the last event's id, ended by the `end` event). An API that has no such route (404) throws EventsUnavailable at
 * once, and the page polls instead.
 */
import { ApiError, client } from "./api";
import { searchEvents as clientEvents, type SearchEvent } from "../../src/client/events";

export type { SearchEvent };

export class EventsUnavailable extends Error {}

export async function* searchEvents(searchId: string, signal: AbortSignal): AsyncGenerator<SearchEvent> {
  try {
    yield* clientEvents(client(), searchId, { signal });
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) throw new EventsUnavailable(`events: ${err.status} ${err.message}`);
    throw err;
  }
}
