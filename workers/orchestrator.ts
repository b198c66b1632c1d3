/**
 * Orchestrator process: advances searches (the only caller of strategies and schedulers) and reconciles Redis with
 * PostgreSQL. Any number may run; advances of one search are serialised by the queue's per-search deduplication
 * and by the search's lock in PostgreSQL.   npm run start:orchestrator   See src/processes.ts.
 */
import { runProcess } from "../src/processes.js";

await runProcess("orchestrator");
