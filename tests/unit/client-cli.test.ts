/**
 * The pieces of the typed client and the CLI that need no server: the SSE parser (messages split anywhere across
 * chunks), the one-line errors, and the progress line of `nas search watch`.
 */
import { describe, expect, it } from "vitest";
import { parseEventStream } from "../../src/client/events.js";
import { ApiError, errorOf } from "../../src/client/http.js";
import { CliError, errorLine } from "../../src/cli/context.js";
import { etaOf, progressLine } from "../../src/cli/watch.js";

const streamOf = (chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });

async function messages(chunks: string[]) {
  const out = [];
  for await (const m of parseEventStream(streamOf(chunks))) out.push(m);
  return out;
}

describe("parseEventStream", () => {
  const text = `: ping\n\nid: 1\nevent: search\ndata: {"a":1}\n\nid: 2\r\nevent: curve\r\ndata: {"b":\r\ndata: 2}\r\n\r\n: ping\n\n`;
  const expected = [
    { id: "1", event: "search", data: ['{"a":1}'] },
    { id: "2", event: "curve", data: ['{"b":', "2}"] },
  ];

  it("reads messages, skips comments, joins data lines, accepts CRLF", async () => {
    expect(await messages([text])).toEqual(expected);
  });

  it("gives the same messages however the bytes are split into chunks", async () => {
    for (let cut = 1; cut < text.length; cut += 3) expect(await messages([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    expect(await messages([...text])).toEqual(expected);
  });
});

describe("errors", () => {
  it("an API error names the field of its first issue; the CLI prints it as one line", async () => {
    const body = { error: "validation_error", message: "budget.maxTrials: Too small", issues: [{ field: "budget.maxTrials", in: "body", message: "Too small" }] };
    const err = await errorOf(new Response(JSON.stringify(body), { status: 400 }));
    expect(err).toMatchObject({ status: 400, field: "budget.maxTrials", message: "Too small", code: "validation_error" });
    expect(errorLine(err)).toBe("error: budget.maxTrials: Too small");
    const notFound = await errorOf(new Response(JSON.stringify({ error: "not_found", message: "search 'x' not found" }), { status: 404 }));
    expect(errorLine(notFound)).toBe("error: search 'x' not found");
    expect(errorLine(new ApiError(400, "space", "space: unknown"))).toBe("error: space: unknown");
    expect(errorLine(new CliError(null, "cannot read a.yaml: ENOENT"))).toBe("error: cannot read a.yaml: ENOENT");
    expect((await errorOf(new Response("<html>bad gateway</html>", { status: 502 }))).message).toBe("<html>bad gateway</html>");
  });
});

describe("the progress line", () => {
  const search = {
    id: "s",
    status: "running",
    startedAt: new Date(0).toISOString(),
    objective: { metric: "test_accuracy" },
    progress: { completed: 6, pruned: 3, failed: 1, cancelled: 0, running: 2, queued: 1, budget: 40 },
    best: { trialId: "0123456789abcdef", objective: 93.125 },
  };

  it("counts completed, pruned and failed trials as done, and the ETA from the rate so far", () => {
    expect(etaOf(search, 10_000)).toBe(30); // 10 done in 10 s, 30 to go
    expect(progressLine(search, { bar: false, now: 10_000 })).toBe("10/40 done  2 running  best 93.125 test_accuracy (trial 01234567)  ETA 30s  running");
    expect(progressLine(search, { bar: true, width: 8, now: 10_000 })).toMatch(/^\[##\.\.\.\.\.\.\] +10\/40 done/);
    expect(progressLine({ ...search, status: "completed", best: null }, { bar: false })).toBe("10/40 done  2 running  best -  completed");
  });
});
