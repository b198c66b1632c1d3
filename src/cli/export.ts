/**
 * `nas export ID --format csv|json`: every trial of a search (decisions, metrics, timings, lineage) to stdout, as
 * the API writes it (GET /v1/searches/:id/trials.csv or .jsonl): CSV with one header line and one line per trial, or
 * one JSON object per line.
 */
import { Command, Option } from "commander";
import { action } from "./context.js";

export function exportCommand(): Command {
  return new Command("export")
    .argument("<id>", "the search's id")
    .addOption(new Option("--format <format>", "csv (one header line, one line per trial) or json (one trial per line)").choices(["csv", "json"]).default("csv"))
    .description("every trial of a search to stdout: decisions, metrics, costs, timings, lineage")
    .action(
      action(async (_ctx, id: string, opts: { format: "csv" | "json" }) => {
        const text = await _ctx.api.exportTrials(id, opts.format === "csv" ? "csv" : "jsonl");
        process.stdout.write(text.endsWith("\n") || text === "" ? text : `${text}\n`);
      }),
    );
}
