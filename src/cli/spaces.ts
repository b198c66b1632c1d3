/** `nas spaces ls | show NAME`: the search spaces a search can name (built-in and the project's own). */
import { Command } from "commander";
import { action, table } from "./context.js";

export function spacesCommand(): Command {
  const spaces = new Command("spaces").description("the search spaces: built-in ones and the project's own");
  spaces
    .command("ls")
    .description("list the search spaces")
    .action(
      action(async (ctx) => {
        const { items } = await ctx.api.listSpaces();
        if (ctx.json) return ctx.printJson(items);
        ctx.out(table(["NAME", "VERSION", "FAMILY", "DECISIONS", "BUILTIN", "EVALUATORS", "DESCRIPTION"], items.map((s) => [s.id, s.version, s.family, s.decisions, s.builtin ? "yes" : "no", s.evaluators.join(","), s.description])));
      }),
    );
  spaces
    .command("show")
    .argument("<name>", "the space's name")
    .description("a search space's full definition (JSON)")
    .action(action(async (ctx, name: string) => ctx.printJson(await ctx.api.getSpace(name))));
  return spaces;
}
