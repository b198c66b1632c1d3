/**
 * The dashboard's build for its tests: web/dist is rebuilt when any file of web/ or of src/client/ (which it
 * bundles) is newer than it (so a test never runs against a stale page), once, under a lock directory, since the test
 * files using it may run at the same time and Vite empties web/dist before it writes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../setup/env.js";

const WEB = path.join(ROOT, "web");
const INDEX = path.join(WEB, "dist/index.html");
const LOCK = path.join(ROOT, "tests/output/.dashboard-build-lock");

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name.startsWith(".")) continue;
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

// The page bundles the typed client too (web/src imports src/client).
const CLIENT = path.join(ROOT, "src/client");

const stale = () => {
  try {
    return statSync(INDEX).mtimeMs < Math.max(newest(WEB), newest(CLIENT));
  } catch {
    return true;
  }
};

export async function ensureDashboardBuilt(): Promise<void> {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (stale()) execFileSync(process.execPath, [path.join(ROOT, "scripts/build-web.mjs")], { cwd: ROOT, stdio: "pipe" });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
