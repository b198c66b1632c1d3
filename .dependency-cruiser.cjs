/**
 * The house's layers (docs/architecture.md, design §2), checked by `npm run lint:layers`:
 *
 *   api → catalogue, db, queue;   orchestrator → strategies, schedulers, spaces, db, queue;
 *   trainer → evaluators → models, tasks;   everyone → core, config;   nobody → workers/.
 *
 * The layer rules are about src/ and workers/ (the service); tests/, benchmarks/ and scripts/ are cruised too, for
 * "nothing imports workers/" and for what they may do with the database client. Paths are relative to the
 * repository root; npm packages appear as node_modules/<name>/… (or as the bare name when not installed, e.g. the
 * optional @tensorflow/tfjs-node).
 *
 * Type-only imports count (tsPreCompilationDeps): `import type { Strategy }` in the API is as much a layering
 * mistake as a value import, even though it loads nothing. Dynamic `import()` counts too, except where a rule says.
 */

/** Infrastructure packages: queues, Redis, PostgreSQL, Prisma, HTTP (fastify and its plugins), metrics. */
const INFRA_PACKAGES = "(^|/)node_modules/(@types/)?(bullmq|ioredis|pg|fastify[^/]*|prom-client)/|(^|/)node_modules/(@prisma|@fastify)/";
/** tfjs (installed or not: `@tensorflow/tfjs-node` is optional and may be unresolvable) and native addons. */
const HEAVY = ["(^|/)@tensorflow/", "\\.node$"];
/** The database client: node-postgres, Prisma and the client Prisma generates. */
const DB_CLIENT = ["(^|/)node_modules/(@types/)?pg/", "(^|/)node_modules/@prisma/", "^src/db/generated/"];

module.exports = {
  forbidden: [
    {
      name: "core-is-self-contained",
      comment:
        "src/core/ is what every layer shares (RNG, JSON types, status enums, errors): it imports nothing from the rest of " +
        "src/ and no package but zod (Node built-ins are fine), so any layer can use it without pulling anything in.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: ["^src/", "(^|/)node_modules/"], pathNot: ["^src/core/", "(^|/)node_modules/zod/"] },
    },
    {
      name: "catalogue-is-light",
      comment:
        "src/catalogue/ is what the API validates and prices with: nothing it reaches, directly or not, may load tfjs, a " +
        "native addon or the tfjs model code. Only the models' plain-data architecture files (transformer/config.ts, " +
        "flows/config.ts: zod and arithmetic) may be reached; what they import is still checked.",
      severity: "error",
      from: { path: "^src/catalogue/" },
      to: {
        reachable: true,
        path: [...HEAVY, "^src/models/"],
        pathNot: ["^src/models/transformer/config\\.ts$", "^src/models/flows/config\\.ts$"],
      },
    },
    {
      name: "catalogue-not-to-service-layers",
      comment:
        "src/catalogue/ describes spaces, strategies, schedulers, evaluators and tasks; it does not use their " +
        "implementations, nor the database, queues, HTTP, orchestrator or trainer (they use it, not the other way).",
      severity: "error",
      from: { path: "^src/catalogue/" },
      to: { path: "^src/(db|queue|api|orchestrator|trainer|strategies|schedulers|evaluators|tasks)/" },
    },
    {
      name: "api-only-to-catalogue-db-queue",
      comment:
        "src/api/ only validates, stores and reports: it may use src/catalogue (spaces come through " +
        "catalogue/index.ts), src/db, src/queue, src/core, config.ts and logger.ts, never the strategies, schedulers, " +
        "evaluators, models, tasks, spaces, orchestrator, trainer or processes.ts.",
      severity: "error",
      from: { path: "^src/api/" },
      to: {
        path: "^src/",
        pathNot: ["^src/(api|catalogue|db|queue|core|datasets|storage)/", "^src/(config|logger)\\.ts$"],
      },
    },
    {
      name: "datasets-is-light",
      comment:
        "src/datasets/ parses, validates and splits uploaded datasets: the API validates uploads with it and the trainers' " +
        "tasks read the same bytes back with it, so it imports only src/core and config.ts (and zod, Node built-ins): no " +
        "tfjs, no database, no HTTP. api, db, tasks, evaluators and trainer may import it.",
      severity: "error",
      from: { path: "^src/datasets/" },
      to: {
        path: ["^src/", "(^|/)node_modules/"],
        pathNot: ["^src/(datasets|core)/", "^src/config\\.ts$", "(^|/)node_modules/zod/"],
      },
    },
    {
      name: "storage-layer",
      comment:
        "src/storage/ keeps datasets' bytes (PostgreSQL chunks through src/db, or an S3-compatible object store): the API " +
        "and the trainers use it; it imports only src/db, src/datasets, src/core and config.ts, never tfjs or HTTP routes.",
      severity: "error",
      from: { path: "^src/storage/" },
      to: { path: "^src/", pathNot: ["^src/(storage|db|datasets|core)/", "^src/config\\.ts$"] },
    },
    {
      name: "aws-sdk-only-in-storage",
      comment:
        "The AWS SDK (@aws-sdk/*, the S3 client) is imported by src/storage/ alone, and there only when an S3 store is " +
        "first used; tests may use it to look into the bucket.",
      severity: "error",
      from: { path: "^(src|workers|scripts|benchmarks)/", pathNot: "^src/storage/" },
      to: { path: "(^|/)node_modules/@aws-sdk/" },
    },
    {
      name: "api-loads-no-tfjs",
      comment:
        "The API process must not load tfjs or native code. Scoped to src/api/ (not workers/api.ts): processes.ts, the " +
        "composition root, reaches the orchestrator and trainer only through dynamic import() when those processes " +
        "start. native-blas.ts is named because it opens the .node addon by a computed path no cruiser can see.",
      severity: "error",
      from: { path: "^src/api/" },
      to: { reachable: true, path: [...HEAVY, "^src/models/native-blas\\.ts$"] },
    },
    {
      name: "processes-loads-heavy-lazily",
      comment:
        "src/processes.ts (imported by every process, the API's included) may import anything in src/, but the " +
        "orchestrator's, trainer's and models' implementations only through dynamic import(), so that the API never loads them.",
      severity: "error",
      from: { path: "^src/processes\\.ts$" },
      to: {
        path: ["^src/(orchestrator|trainer|strategies|schedulers|evaluators|models|tasks)/", ...HEAVY],
        dependencyTypesNot: ["dynamic-import", "type-only"],
      },
    },
    {
      name: "db-client-only-in-db",
      comment:
        "Every SQL statement and transaction lives in src/db/ (migrate.ts included): nothing else in src/ or workers/ " +
        "imports pg, @prisma/* or the generated Prisma client.",
      severity: "error",
      from: { path: "^(src|workers)/", pathNot: "^src/db/" },
      to: { path: DB_CLIENT },
    },
    {
      name: "tools-query-through-db",
      comment:
        "tests/, benchmarks/ and scripts/ are not layers: they may use pg to set up databases (create, drop, check " +
        "that PostgreSQL is up) and tests may read the generated enums (plain value lists, to check src/core's " +
        "statuses against the schema), but they query through src/db, never the Prisma client itself.",
      severity: "error",
      from: { path: "^(tests|benchmarks|scripts)/" },
      to: { path: ["(^|/)node_modules/@prisma/", "^src/db/generated/"], pathNot: "^src/db/generated/enums\\.ts$" },
    },
    {
      name: "orchestrator-layers",
      comment:
        "src/orchestrator/ advances searches: it asks strategies and schedulers, reads spaces and the catalogue, " +
        "persists (db) and enqueues (queue). It never evaluates (evaluators, models, trainer) nor serves HTTP (api).",
      severity: "error",
      from: { path: "^src/orchestrator/" },
      to: {
        path: "^src/",
        pathNot: ["^src/(orchestrator|strategies|schedulers|spaces|db|queue|catalogue|core)/", "^src/(config|logger)\\.ts$"],
      },
    },
    {
      name: "trainer-layers",
      comment:
        "src/trainer/ claims a trial and runs its evaluator (evaluators, spaces, catalogue), storing results (db, " +
        "queue). It never proposes (strategies, schedulers: that is the orchestrator's) nor serves HTTP (api).",
      severity: "error",
      from: { path: "^src/trainer/" },
      to: {
        path: "^src/",
        pathNot: ["^src/(trainer|evaluators|db|queue|spaces|catalogue|core|datasets|storage)/", "^src/(config|logger)\\.ts$"],
      },
    },
    {
      name: "models-tasks-know-no-infrastructure",
      comment:
        "src/models/ (tfjs blocks) and src/tasks/ (datasets, metrics) know nothing of queues, databases or HTTP: " +
        "no src/db, src/queue, src/api, src/orchestrator, src/trainer, processes.ts, nor bullmq, ioredis, pg, " +
        "@prisma/*, fastify. (tasks may use catalogue/tasks.ts for the task ids.)",
      severity: "error",
      from: { path: "^src/(models|tasks)/" },
      to: { path: ["^src/(db|queue|api|orchestrator|trainer)/", "^src/processes\\.ts$", INFRA_PACKAGES] },
    },
    {
      name: "load-tools-only-in-benchmarks",
      comment:
        "autocannon (a dev dependency: the HTTP load generator of bench:api) is for benchmarks/ and tests/; the service " +
        "itself (src/, workers/, scripts/) never loads it.",
      severity: "error",
      from: { path: "^(src|workers|scripts)/" },
      to: { path: "(^|/)node_modules/(@types/)?autocannon/" },
    },
    {
      name: "client-is-browser-safe",
      comment:
        "src/client/ is the typed REST client the CLI and the dashboard share (fetch only): it imports only its own files " +
        "(openapi.d.ts: the types generated from the API's document), no Node built-in, no package, no layer of the service.",
      severity: "error",
      from: { path: "^src/client/" },
      to: { pathNot: "^src/client/" },
    },
    {
      name: "cli-talks-rest-only",
      comment:
        "src/cli/ (the `nas` command) drives the service over its REST API only, through src/client/: besides that it uses " +
        "commander, yaml and Node built-ins, never a layer of the service (no database, queue, catalogue or config).",
      severity: "error",
      from: { path: "^src/cli/" },
      to: { dependencyTypesNot: ["core"], pathNot: ["^src/(cli|client)/", "(^|/)node_modules/(commander|yaml)/"] },
    },
    {
      name: "web-is-browser-code",
      comment:
        "web/src/ is the dashboard, bundled by Vite for the browser: it imports only its own files, src/client/ (the " +
        "fetch-only typed client, browser-safe) and the packages it is drawn with (preact, uplot); no Node built-ins, no " +
        "layer of the service (it talks to the API over HTTP like any client). vite/client is the types of its CSS imports.",
      severity: "error",
      from: { path: "^web/src/" },
      to: { pathNot: ["^web/src/", "^src/client/", "(^|/)node_modules/(preact|uplot)/", "(^|/)node_modules/vite/client\\.d\\.ts$"] },
    },
    {
      name: "nothing-imports-web",
      comment: "web/ is built into web/dist/ and served as files (src/api/routes/dashboard.ts); no module of the service or the tests imports it.",
      severity: "error",
      from: { pathNot: "^web/" },
      to: { path: "^web/" },
    },
    {
      name: "nothing-imports-workers",
      comment: "workers/*.ts are process entry points (a few lines over src/processes.ts): nothing imports them, tests included.",
      severity: "error",
      from: {},
      to: { path: "^workers/" },
    },
    {
      name: "not-to-unresolvable",
      comment:
        "Every import in src/ and workers/ resolves to a file or package. Besides catching typos, this keeps the rules " +
        "above honest: were the NodeNext `./x.js` → `./x.ts` mapping to break, edges would vanish and every rule pass.",
      severity: "error",
      from: { path: "^(src|workers)/" },
      to: { couldNotResolve: true },
    },
    {
      name: "no-circular",
      comment:
        "No import cycles in src/ (type-only imports included: a cycle of types is still two modules that cannot be " +
        "understood apart). The generated Prisma client is not ours and is not checked.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/db/generated/" },
      to: { circular: true },
    },
  ],
  options: {
    // Packages and the generated client are nodes of the graph (rules can name them) but are not walked into.
    doNotFollow: { path: ["(^|/)node_modules/", "^src/db/generated/"] },
    // NodeNext: imports name `./x.js` for `./x.ts`; the TypeScript config maps them back.
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
