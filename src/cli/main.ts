/**
 * The `nas` command (bin/nas.mjs runs this): drives the service over its REST API only, through the typed client of
 * src/client/. NAS_URL (default http://127.0.0.1:3000) and NAS_API_KEY say where and as whom; `--json` prints JSON
 * instead of text everywhere; an error of the API is one line `error: <field>: <message>` and exit code 1.
 */
import { Command, Option } from "commander";
import { exportCommand } from "./export.js";
import { leaderboardCommand } from "./leaderboard.js";
import { searchCommand } from "./search.js";
import { spacesCommand } from "./spaces.js";
import { trialsCommand } from "./trials.js";

export function program(): Command {
  return new Command("nas")
    .description("Drive the NAS service: submit and watch searches, read trials and leaderboards, export results.")
    .addOption(new Option("--url <url>", "where the API is").env("NAS_URL").default("http://127.0.0.1:3000"))
    .addOption(new Option("--api-key <key>", "an API key of the project (`npm run keys -- create`)").env("NAS_API_KEY"))
    .option("--json", "print JSON instead of text")
    .showHelpAfterError()
    .addCommand(searchCommand())
    .addCommand(trialsCommand())
    .addCommand(leaderboardCommand())
    .addCommand(exportCommand())
    .addCommand(spacesCommand());
}

await program().parseAsync(process.argv);
