-- Search spaces written by users (immutable, one row per version: the version is the hash of the canonical JSON of
-- the definition), the space a search ran on snapshotted with the search (so that the orchestrator and trainers
-- never look a space up by name again), the weights of the best trials of a search, and the models retrained from
-- a search's best architecture.

-- CreateTable
CREATE TABLE "search_spaces" (
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "family" TEXT NOT NULL,
    "definition" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "search_spaces_pkey" PRIMARY KEY ("project_id", "name", "version")
);

-- CreateIndex
CREATE INDEX "search_spaces_project_id_name_created_at_idx" ON "search_spaces"("project_id", "name", "created_at");

-- AddForeignKey
ALTER TABLE "search_spaces" ADD CONSTRAINT "search_spaces_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable: the version and the full definition of the space a search runs on.
ALTER TABLE "searches" ADD COLUMN "space_version" TEXT;
ALTER TABLE "searches" ADD COLUMN "space_definition" JSONB;

-- CreateTable
CREATE TABLE "trial_weights" (
    "trial_id" UUID NOT NULL,
    "search_id" UUID NOT NULL,
    "objective" DOUBLE PRECISION NOT NULL,
    "manifest" JSONB NOT NULL,
    "weights" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trial_weights_pkey" PRIMARY KEY ("trial_id")
);

-- CreateIndex
CREATE INDEX "trial_weights_search_id_idx" ON "trial_weights"("search_id");

-- AddForeignKey
ALTER TABLE "trial_weights" ADD CONSTRAINT "trial_weights_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateEnum
CREATE TYPE "ModelStatus" AS ENUM ('training', 'ready', 'failed');

-- CreateTable
CREATE TABLE "models" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "search_id" UUID NOT NULL,
    "trial_id" UUID,
    "status" "ModelStatus" NOT NULL DEFAULT 'training',
    "architecture" JSONB NOT NULL,
    "steps" INTEGER NOT NULL,
    "family" TEXT NOT NULL,
    "metrics" JSONB,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "worker" TEXT,
    "manifest" JSONB,
    "weights" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "models_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "models_project_id_created_at_id_idx" ON "models"("project_id", "created_at", "id");

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_search_id_fkey" FOREIGN KEY ("search_id") REFERENCES "searches"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE SET NULL ON UPDATE CASCADE;
