/** `nas search create FILE | watch ID | ls | cancel ID`. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { action, CliError, duration, formatNumber, table } from "./context.js";
import { doneOf, watchSearch, type SearchProgressJson } from "./watch.js";

/** A search request from a .json, .yaml or .yml file. */
export async function readSearchFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError(null, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const ext = path.extname(file).toLowerCase();
  let body: unknown;
  try {
    body = ext === ".yaml" || ext === ".yml" ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new CliError(null, `${file} is not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new CliError(null, `${file} must hold one search request (an object)`);
  return body as Record<string, unknown>;
}

export function searchCommand(): Command {
  const search = new Command("search").description("submit, follow, list and cancel searches");

  search
    .command("create")
    .argument("<file>", "the search request, as JSON (.json) or YAML (.yaml, .yml): the body of POST /v1/searches")
    .option("--detach", "do not watch the search: print its id (or, with --json, the search) and exit")
    .description("submit a search, then watch it until it ends (exit code 1 if it fails or is cancelled)")
    .action(
      action(async (ctx, file: string, opts: { detach?: boolean }) => {
        const created = await ctx.api.createSearch(await readSearchFile(file));
        if (ctx.json) ctx.printJson(created);
        else ctx.out(opts.detach ? created.id : `created search ${created.id} (${created.name}); watching it (Ctrl-C stops watching, not the search)`);
        if (opts.detach) return 0;
        return watchSearch(ctx, created.id);
      }),
    );

  search
    .command("watch")
    .argument("<id>", "the search's id")
    .description("follow a search until it ends: trials done of the budget, running, best so far, ETA (exit code 1 if it fails or is cancelled)")
    .action(action(async (ctx, id: string) => watchSearch(ctx, id)));

  search
    .command("ls")
    .option("--status <status>", "only searches with this status (queued, running, completed, cancelled, failed)")
    .option("--space <space>", "only searches of this search space")
    .option("--limit <n>", "at most this many, newest first", "50")
    .description("list the project's searches, newest first")
    .action(
      action(async (ctx, opts: { status?: string; space?: string; limit: string }) => {
        const page = await ctx.api.listSearches({ status: opts.status as never, space: opts.space, limit: Number(opts.limit) });
        if (ctx.json) return ctx.printJson(page.items);
        const now = Date.now();
        const rows = page.items.map((s) => {
          const p = s as unknown as SearchProgressJson & { name: string; space: string; strategy: { type?: string } };
          const { done, budget } = doneOf(p);
          return [s.id, p.name, s.status, `${done}/${budget}`, p.progress?.running ?? 0, formatNumber(p.best?.objective), p.strategy?.type, p.space, duration((now - Date.parse(s.createdAt)) / 1000)];
        });
        ctx.out(table(["ID", "NAME", "STATUS", "DONE", "RUNNING", "BEST", "STRATEGY", "SPACE", "AGE"], rows));
      }),
    );

  search
    .command("cancel")
    .argument("<id>", "the search's id")
    .description("cancel a search and its unfinished trials")
    .action(
      action(async (ctx, id: string) => {
        const s = await ctx.api.cancelSearch(id);
        if (ctx.json) ctx.printJson(s);
        else ctx.out(`search ${s.id} ${s.status}`);
      }),
    );
  return search;
}
