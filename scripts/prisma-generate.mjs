// `prisma generate` downloads a schema-engine binary unless PRISMA_SCHEMA_ENGINE_BINARY is set; generating
// the client needs no engine, so point the variable at a placeholder to keep install and CI offline.
import { spawnSync } from "node:child_process";

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? new URL("./prisma-generate.mjs", import.meta.url).pathname, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
const result = spawnSync("npx", ["prisma", "generate"], { stdio: ["ignore", "pipe", "inherit"], env });
if (result.status !== 0) process.exit(result.status ?? 1);
