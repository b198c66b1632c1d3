/**
 * What every command of the CLI shares: the client built from the global options (NAS_URL, NAS_API_KEY), output as
 * text or JSON (`--json`), and the one-line error an API error becomes (`error: <field>: <message>`, exit code 1).
 */
import type { Command } from "commander";
import { ApiError, createClient, type Client } from "../client/http.js";

export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export interface Context {
  api: Client;
  json: boolean;
  /** Whether stdout is a terminal (progress bars, colours) or a pipe or file (plain lines). */
  tty: boolean;
  out(line: string): void;
  /** Prints a value as JSON (pretty on a terminal, one line otherwise). */
  printJson(value: unknown): void;
}

export function contextOf(command: Command): Context {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const tty = Boolean(process.stdout.isTTY);
  return {
    api: createClient({ baseUrl: opts.url, apiKey: opts.apiKey || undefined }),
    json: Boolean(opts.json),
    tty,
    out: (line) => void process.stdout.write(`${line}\n`),
    printJson: (value) => void process.stdout.write(`${JSON.stringify(value, null, tty ? 2 : undefined)}\n`),
  };
}

/** A failure of the command itself (bad file, bad option), reported like an API error: one line, exit code 1. */
export class CliError extends Error {
  override name = "CliError";
  constructor(readonly field: string | null, message: string) {
    super(message);
  }
}

/** The line printed for an error: `error: <field>: <message>` (or `error: <message>`). */
export function errorLine(err: unknown): string {
  if (err instanceof ApiError || err instanceof CliError) {
    const message = err.field && err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    return err.field ? `error: ${err.field}: ${message}` : `error: ${message}`;
  }
  return `error: ${(err as Error).message ?? String(err)}`;
}

/** Wraps a command's action: an error becomes one line on stderr and exit code 1. */
export function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number | void>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    try {
      const code = await fn(contextOf(command), ...(args.slice(0, -1) as A));
      process.exitCode = code ?? 0;
    } catch (err) {
      process.stderr.write(`${errorLine(err)}\n`);
      process.exitCode = 1;
    }
  };
}

/** Columns aligned under a header (text output). */
export function table(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** "3m12s", "45s", "2h05m". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export const formatNumber = (v: number | null | undefined) => (v === null || v === undefined ? "-" : Number.isInteger(v) ? String(v) : v.toPrecision(5));
