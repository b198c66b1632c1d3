/** `nas leaderboard [--space …] [--task …] [--metric …]`: a leaderboard, or (without --space) the list of them. */
import { Command } from "commander";
import { action, formatNumber, table } from "./context.js";

export function leaderboardCommand(): Command {
  return new Command("leaderboard")
    .option("--space <space>", "the search space (without it: list the project's leaderboards)")
    .option("--task <task>", "the task, e.g. cifar10 (needed when the space has several)")
    .option("--metric <metric>", "the objective metric (default: the board's)")
    .option("--limit <n>", "rows", "20")
    .description("the best distinct architectures across searches of a space and task; without --space, every leaderboard")
    .action(
      action(async (ctx, opts: { space?: string; task?: string; metric?: string; limit: string }) => {
        if (!opts.space) {
          const { items } = await ctx.api.boards();
          const boards = opts.task ? items.filter((b) => b.task === opts.task) : items;
          if (ctx.json) return ctx.printJson(boards);
          ctx.out(table(["SPACE", "TASK", "METRIC", "DIRECTION", "ENTRIES"], boards.map((b) => [b.space, b.task, b.metric, b.direction, b.entries])));
          return;
        }
        const board = await ctx.api.leaderboard({ space: opts.space, task: opts.task, metric: opts.metric, limit: Number(opts.limit) });
        if (ctx.json) return ctx.printJson(board);
        ctx.out(`${board.space} · ${board.task ?? "-"} · ${board.metric ?? "-"}`);
        ctx.out(table(["RANK", "OBJECTIVE", "TRIAL", "SEARCH", "ARCH"], board.rows.map((r) => [r.rank, formatNumber(r.objective), r.trialId, r.searchId, r.archHash.slice(0, 12)])));
      }),
    );
}
