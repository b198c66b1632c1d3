/**
 * Trainer process: evaluates trials from the `trials` queue. Start any number, on any machine:
 *   npm run start:trainer
 * SIGTERM finishes the trials in hand (new ones are not taken) and exits; SIGKILL loses nothing: BullMQ's
 * stalled-job check hands the trial to another trainer after JOB_LOCK_MS. See src/processes.ts.
 */
import { runProcess } from "../src/processes.js";

await runProcess("trainer");
