/**
 * Trainer process: evaluates trials from the `trials` queue. Start any number, on any machine:
 *   npm run start:trainer
 * SIGTERM finishes the trials in hand (new ones are not taken) and exits; SIGKILL loses nothing: BullMQ's
 * stalled-job check hands the trial to another trainer after JOB_LOCK_MS. See src/processes.ts.
 *
 * `start:trainer` runs it with `--single-threaded-gc`: a trainer trains on one core, and V8's parallel and
 * concurrent collector threads would otherwise take CPU from the trainer beside it (one trainer per core is how the
 * service scales). Measured with bench:train --trainers 1,2 (16 trials × 100 steps): trials took 1.14× as long with
 * two trainers as with one without the flag (scaling 1.74×), 1.07× with it (1.85×).
 */
import { runProcess } from "../src/processes.js";

await runProcess("trainer");
