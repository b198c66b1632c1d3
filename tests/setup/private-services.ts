/**
 * A Redis server and a PostgreSQL cluster of a test's own, on free ports, for tests that break them (restart,
 * flush, terminated connections) without touching the shared services at 127.0.0.1:6379 and :5432 that other test
 * files use at the same time. Each is started here and stopped (its files removed) by `stop()`.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, `initdb` and `pg_ctl` run as the `postgres` user
 * (`runuser -u postgres -- …`) on a data directory that user owns. The cluster trusts local connections, listens
 * on 127.0.0.1 only, and keeps its socket in its own directory.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { checkRedis } from "../../src/queue/queues.js";
import { freePort, waitFor } from "./env.js";

export interface PrivateRedis {
  url: string;
  port: number;
  /** FLUSHALL: every queue is gone (PostgreSQL still has the truth). */
  flush(): Promise<void>;
  /** Stops the server (SIGTERM; nothing is persisted, so it comes back empty) and starts it again on the same port. */
  restart(): Promise<void>;
  /** The two halves of a restart, for an outage as long as the test needs. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  stop(): Promise<void>;
}

function spawnRedis(port: number, dir: string): ChildProcess {
  return spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(tmpdir(), "nas-redis-"));
  let child = spawnRedis(port, dir);
  const up = () => waitFor(`redis-server on port ${port}`, () => checkRedis(url, 500).then(() => true, () => false), 15_000, 100);
  const kill = async (c: ChildProcess) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once("exit", resolve));
    c.kill("SIGTERM");
    await exited;
  };
  await up();
  return {
    url,
    port,
    async flush() {
      const r = spawnSync("redis-cli", ["-p", String(port), "FLUSHALL"], { encoding: "utf8" });
      if (r.status !== 0 || !/OK/.test(r.stdout)) throw new Error(`FLUSHALL failed: ${r.stdout}${r.stderr}`);
    },
    async restart() {
      await kill(child);
      child = spawnRedis(port, dir);
      await up();
    },
    async stopServer() {
      await kill(child);
    },
    async startServer() {
      child = spawnRedis(port, dir);
      await up();
    },
    async stop() {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  port: number;
  /** The connection string of a database of this cluster (created by migrate()). */
  url(database: string): string;
  /** `pg_ctl restart -m fast`: every connection is closed, the server is down for a moment, then accepts again. */
  restart(): Promise<void>;
  /** The two halves of a restart, for an outage as long as the test needs: `pg_ctl stop -m fast`, `pg_ctl start`. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** pg_terminate_backend on every other connection to `database`; resolves with how many were terminated. */
  terminateConnections(database: string): Promise<number>;
  stop(): Promise<void>;
}

/** The newest PostgreSQL server binaries of the machine (Debian keeps them in /usr/lib/postgresql/<version>/bin). */
function postgresBin(): string {
  const fromConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (fromConfig.status === 0 && existsSync(path.join(fromConfig.stdout.trim(), "initdb"))) return fromConfig.stdout.trim();
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("no PostgreSQL server binaries found (pg_config --bindir, /usr/lib/postgresql/*/bin)");
  return path.join(root, versions[0], "bin");
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "nas-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    if (!Number.isInteger(uid)) throw new Error("running as root but there is no `postgres` user to run PostgreSQL as");
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  // Asynchronous, so that the processes and polls of the test go on while PostgreSQL restarts.
  const run = (tool: string, args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]] : [path.join(bin, tool), args];
      execFile(file, argv, { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${tool} ${args.join(" ")} failed: ${err.message} ${stdout}${stderr}`)) : resolve(stdout),
      );
    });
  // The bootstrap superuser is `root`, as in the service's default DATABASE_URL; fsync off: a test cluster.
  await run("initdb", ["-D", data, "--auth=trust", "-U", "root", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const pgCtl = (...args: string[]) => run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "-o", options, ...args]);
  await pgCtl("start");
  const url = (database: string) => `postgresql://root@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async restart() {
      await pgCtl("restart", "-m", "fast");
    },
    async stopServer() {
      await pgCtl("stop", "-m", "fast");
    },
    async startServer() {
      await pgCtl("start");
    },
    async terminateConnections(database) {
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [database],
        );
        return Number(rows[0]!.n);
      } finally {
        await client.end();
      }
    },
    async stop() {
      try {
        await pgCtl("stop", "-m", "immediate").catch(() => {}); // already stopped, perhaps
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
