/**
 * REST API process:  npm run start:api   (PORT, HOST; OpenAPI at /docs)
 */
import { buildApp } from "../src/api/app.js";
import { Queues, createRedis } from "../src/queue/queues.js";
import { die, onShutdown, startProcess } from "./startup.js";

const rt = await startProcess("api");
const redis = createRedis(rt.config.REDIS_URL);
const queues = new Queues(redis, rt.config);
const app = await buildApp({ db: rt.db, queues, redis, spaces: rt.spaces, config: rt.config });
try {
  await app.listen({ port: rt.config.PORT, host: rt.config.HOST });
} catch (err) {
  die("api", `cannot listen on ${rt.config.HOST}:${rt.config.PORT}: ${(err as Error).message}`);
}
onShutdown(rt.log, async () => {
  await app.close();
  await queues.close();
  redis.disconnect();
  await rt.db.$disconnect();
});
