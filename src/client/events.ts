/**
 * The live events of a search (GET /v1/searches/:id/events, Server-Sent Events) as an async generator, over fetch
 * (not EventSource: that cannot send the API key's header). A dropped connection is resumed with the id of the last
 * event read (`Last-Event-ID`), so no event is lost or repeated: the server derives them from PostgreSQL. The
 * generator ends after the `end` event (the search finished), when `signal` aborts, or on an error the API answers
 * (an ApiError: unknown search, bad key); a network failure is retried with backoff.
 *
 *   for await (const e of searchEvents(api, id, { signal })) if (e.type === "search") draw(e.data);
 */
import { ApiError, type Client } from "./http.js";

/** The types of event the API sends (contracts.md). */
export type SearchEventType =
  | "search"
  | "trial.queued"
  | "trial.started"
  | "trial.completed"
  | "trial.pruned"
  | "trial.failed"
  | "trial.cancelled"
  | "curve"
  | "best"
  | "end";

export interface SearchEvent {
  /** Increasing per search; resume after it with `lastEventId`. */
  id: number;
  type: SearchEventType;
  /** The event's JSON: the search (`search`, `end`), the trial (`trial.*`), `{trialId, step, metrics}` (`curve`),
   *  `{trialId, objective, architecture}` (`best`). */
  data: unknown;
}

export interface SearchEventsOptions {
  signal?: AbortSignal;
  /** Resume after this event id (omitted: from the first event of the search). */
  lastEventId?: number;
  /** Milliseconds before the first reconnection (doubling, at most 30 s); default 500. */
  retryMs?: number;
  /** Called when the connection drops and is about to be resumed. */
  onReconnect?: (err: unknown, attempt: number) => void;
}

/** One message of an event stream (the fields of the SSE format that the API sends). */
interface Message {
  id?: string;
  event?: string;
  data: string[];
}

/** Splits a stream of SSE text into messages (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export async function* parseEventStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<Message> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  let buffer = "";
  let message: Message = { data: [] };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A CR that ends the chunk may be the first half of a CRLF: wait for the next chunk.
        if (newline === buffer.length - 1 && buffer.endsWith("\r")) break;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (message.data.length || message.event || message.id !== undefined) yield message;
          message = { data: [] };
          continue;
        }
        if (line.startsWith(":")) continue; // a comment: the server's `: ping`
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") message.data.push(value);
        else if (field === "event") message.event = value;
        else if (field === "id") message.id = value;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

export async function* searchEvents(client: Client, searchId: string, opts: SearchEventsOptions = {}): AsyncGenerator<SearchEvent> {
  let last = opts.lastEventId;
  let attempt = 0;
  const firstRetry = opts.retryMs ?? 500;
  while (!opts.signal?.aborted) {
    try {
      const res = await client.send("GET", `/v1/searches/${encodeURIComponent(searchId)}/events`, {
        accept: "text/event-stream",
        signal: opts.signal,
        headers: last === undefined ? {} : { "last-event-id": String(last) },
      });
      if (!res.body) throw new Error("the events answer has no body");
      for await (const m of parseEventStream(res.body, opts.signal)) {
        attempt = 0;
        const id = Number(m.id);
        const type = (m.event ?? "message") as SearchEventType;
        if (Number.isFinite(id)) last = id;
        yield { id, type, data: m.data.length ? JSON.parse(m.data.join("\n")) : null };
        if (type === "end") return;
      }
      // The server closed the stream without `end` (restarted, a proxy's timeout): resume.
    } catch (err) {
      if (opts.signal?.aborted) return;
      // The API answered: not found, bad key, bad request. Retrying would answer the same.
      if (err instanceof ApiError && err.status > 0 && err.status < 500 && err.status !== 429) throw err;
      opts.onReconnect?.(err, attempt + 1);
    }
    await sleep(Math.min(30_000, firstRetry * 2 ** attempt++), opts.signal);
  }
}
