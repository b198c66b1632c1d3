#!/usr/bin/env node
// The `nas` command (package.json "bin"): runs the CLI's TypeScript (src/cli/main.ts) through tsx's loader, which
// is a dependency of the service, so `npx nas …` works straight after `npm ci` with nothing to build.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
