// Entry of a training thread (training-thread.ts). The thread loads the TypeScript sources through tsx's API, so it
// works whether or not the process that starts it was itself started by tsx (a test runner, for instance).
import { tsImport } from "tsx/esm/api";

await tsImport("./training-thread-entry.ts", import.meta.url);
