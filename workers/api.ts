/** REST API process:  npm run start:api   (PORT, HOST; OpenAPI at /docs). See src/processes.ts. */
import { runProcess } from "../src/processes.js";

await runProcess("api");
