-- Projects (tenants) and their API keys. Every search belongs to a project, and through it its trials, curves,
-- artifacts and α series; the leaderboard is per project. Searches made before projects existed belong to the
-- project "default".

-- CreateTable
CREATE TABLE "projects" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "name" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "projects_name_key" ON "projects"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_project_id_idx" ON "api_keys"("project_id");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The project of everything made before projects existed (and of AUTH=off).
INSERT INTO "projects" ("id", "name") VALUES ('00000000-0000-4000-8000-000000000000', 'default');

-- AlterTable
ALTER TABLE "searches" ADD COLUMN "project_id" UUID NOT NULL DEFAULT '00000000-0000-4000-8000-000000000000';
ALTER TABLE "searches" ALTER COLUMN "project_id" DROP DEFAULT;

-- Searches are listed per project now.
DROP INDEX "searches_created_at_id_idx";
DROP INDEX "searches_space_task_created_at_idx";

-- CreateIndex
CREATE INDEX "searches_project_id_created_at_id_idx" ON "searches"("project_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "searches_project_id_space_task_created_at_idx" ON "searches"("project_id", "space", "task", "created_at");

-- AddForeignKey
ALTER TABLE "searches" ADD CONSTRAINT "searches_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The leaderboard is per project.
ALTER TABLE "leaderboard_entries" ADD COLUMN "project_id" UUID NOT NULL DEFAULT '00000000-0000-4000-8000-000000000000';
UPDATE "leaderboard_entries" e SET "project_id" = s."project_id" FROM "searches" s WHERE s."id" = e."search_id";
ALTER TABLE "leaderboard_entries" ALTER COLUMN "project_id" DROP DEFAULT;
ALTER TABLE "leaderboard_entries" DROP CONSTRAINT "leaderboard_entries_pkey";
ALTER TABLE "leaderboard_entries" ADD CONSTRAINT "leaderboard_entries_pkey" PRIMARY KEY ("project_id", "space", "task", "metric", "arch_hash");
DROP INDEX "leaderboard_entries_space_task_metric_score_idx";
CREATE INDEX "leaderboard_entries_project_id_space_task_metric_score_idx" ON "leaderboard_entries"("project_id", "space", "task", "metric", "score" DESC);
