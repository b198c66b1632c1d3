/** One JSON logger (pino, as fastify uses) for every process. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { proc: name, pid: process.pid } });
}
