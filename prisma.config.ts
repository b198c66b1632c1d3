import { defineConfig } from "prisma/config";

// Used by the Prisma CLI only (generate; migrate where its schema engine can be downloaded).
// The service itself reads DATABASE_URL through src/config.ts.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://root@127.0.0.1:5432/nas" },
});
