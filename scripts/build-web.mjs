// Builds the dashboard (web/ → web/dist/, served by the API at `/`), run by `npm install`'s postinstall and by
// `npm run build:web`. Vite is a dependency, so this needs nothing beyond the install and no network. A build error
// fails the install: the dashboard is the project's own code, and an API without it answers `/` with a 503.
// Where web/ is absent (Docker's dependency layer copies package.json before the sources) it is skipped; the
// Dockerfile builds it once the sources are there.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const config = path.join(root, "web/vite.config.ts");

if (!existsSync(path.join(root, "web/index.html"))) {
  console.log("build-web: web/ is not here yet; skipping the dashboard build (run `npm run build:web` once it is)");
} else {
  const started = performance.now();
  const { build } = await import("vite");
  try {
    await build({ configFile: config, logLevel: "warn" });
  } catch (err) {
    console.error(`build-web: the dashboard did not build: ${err.message}`);
    process.exit(1);
  }
  console.log(`build-web: built web/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
