/**
 * `npm run keys -- <command>`: API keys of projects (tenants). Talks to DATABASE_URL directly: whoever runs it
 * administers the deployment.
 *
 *   create --project NAME --role admin|write|read [--name LABEL]   a new key (the project is made if missing);
 *                                                                   the key is printed alone on the last line,
 *                                                                   once: only its hash is stored
 *   list [--project NAME]                                           keys by project: prefix, role, name, state
 *   revoke ID_OR_PREFIX                                             a key stops working (within AUTH_CACHE_S)
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { checkDb, createDb } from "../src/db/client.js";
import { createKey, ensureProject, listKeys, revokeKey, roleSchema } from "../src/db/projects.js";

const USAGE = "usage: npm run keys -- create --project NAME --role admin|write|read [--name LABEL] | list [--project NAME] | revoke ID_OR_PREFIX";

function fail(message: string): never {
  process.stderr.write(`keys: ${message}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({ allowPositionals: true, options: { project: { type: "string" }, role: { type: "string" }, name: { type: "string" } } });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
})();
const [command, arg] = positionals;
let config;
try {
  config = loadConfig();
  await checkDb(config.DATABASE_URL);
} catch (err) {
  fail((err as Error).message);
}
const db = createDb(config.DATABASE_URL, 1);
try {
  switch (command) {
    case "create": {
      if (!values.project?.trim()) fail(`--project is required\n${USAGE}`);
      const role = roleSchema.safeParse(values.role);
      if (!role.success) fail(`--role must be admin, write or read\n${USAGE}`);
      const project = await ensureProject(db, values.project.trim());
      const created = await createKey(db, project.id, role.data, { name: values.name });
      console.log(`created a ${role.data} key for project '${project.name}' (id ${created.id}, prefix ${created.prefix}); it is shown once, store it now:`);
      console.log(created.key);
      break;
    }
    case "list":
      for (const k of await listKeys(db, values.project)) {
        console.log(`${k.project}\t${k.prefix}…\t${k.role}\t${k.name ?? ""}\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : `created ${k.createdAt.toISOString()}`}\t${k.id}`);
      }
      break;
    case "revoke": {
      if (!arg) fail(`revoke needs a key's id or prefix\n${USAGE}`);
      const n = await revokeKey(db, arg);
      if (n === 0) fail(`no active key has the id or prefix '${arg}'`);
      console.log(`revoked ${n} key${n === 1 ? "" : "s"}`);
      break;
    }
    default:
      fail(USAGE);
  }
} finally {
  await db.$disconnect();
}
