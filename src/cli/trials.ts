/** `nas trials ID [--status …]`: a search's trials. */
import { Command } from "commander";
import type { Trial } from "../client/http.js";
import { action, duration, formatNumber, table } from "./context.js";

export function trialsCommand(): Command {
  return new Command("trials")
    .argument("<id>", "the search's id")
    .option("--status <status>", "only trials with this status (queued, running, completed, failed, pruned, cancelled)")
    .option("--sort <sort>", "created, objective (best first) or finished", "created")
    .description("list a search's trials: status, objective, step of its budget, ETA, backend")
    .action(
      action(async (ctx, id: string, opts: { status?: string; sort: string }) => {
        const trials = await ctx.api.allTrials(id, { status: opts.status as never, sort: opts.sort as never });
        if (ctx.json) return ctx.printJson(trials);
        const rows = trials.map((t) => {
          const x = t as Trial & { step?: number | null; budgetSteps?: number | null; etaSeconds?: number | null; backend?: string | null };
          const step = x.step === null || x.step === undefined ? null : `${x.step}${x.budgetSteps ? `/${x.budgetSteps}` : ""}`;
          return [t.seq, t.id, t.status, formatNumber(t.objective), step, x.etaSeconds === null || x.etaSeconds === undefined ? null : duration(x.etaSeconds), x.backend, t.archHash.slice(0, 12)];
        });
        ctx.out(table(["SEQ", "ID", "STATUS", "OBJECTIVE", "STEP", "ETA", "BACKEND", "ARCH"], rows));
      }),
    );
}
