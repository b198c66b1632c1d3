-- CreateEnum
CREATE TYPE "SearchStatus" AS ENUM ('queued', 'running', 'completed', 'cancelled', 'failed');

-- CreateEnum
CREATE TYPE "TrialStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'pruned', 'cancelled');

-- CreateTable
CREATE TABLE "searches" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "space" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "strategy" JSONB NOT NULL,
    "evaluator" JSONB NOT NULL,
    "objective_metric" TEXT NOT NULL,
    "objective_direction" TEXT NOT NULL,
    "max_trials" INTEGER NOT NULL,
    "max_parallel" INTEGER NOT NULL,
    "max_failures" INTEGER NOT NULL,
    "seed" INTEGER NOT NULL,
    "status" "SearchStatus" NOT NULL DEFAULT 'queued',
    "error" TEXT,
    "strategy_state" JSONB,
    "scheduler" JSONB,
    "scheduler_state" JSONB,
    "trials_created" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "searches_pkey" PRIMARY KEY ("id")
);

-- CreateSequence: completion order of trials (one sequence for all searches, so completing takes no search lock)
CREATE SEQUENCE "trial_finish_order";

-- CreateTable
CREATE TABLE "trials" (
    "id" UUID NOT NULL,
    "search_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'trial',
    "architecture" JSONB NOT NULL,
    "arch_hash" TEXT NOT NULL,
    "status" "TrialStatus" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "metrics" JSONB,
    "objective" DOUBLE PRECISION,
    "finished_seq" BIGINT,
    "told" BOOLEAN NOT NULL DEFAULT false,
    "worker" TEXT,
    "parent_id" UUID,
    "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "trials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "curve_points" (
    "id" BIGSERIAL NOT NULL,
    "trial_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "values" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "curve_points_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "leaderboard_entries" (
    "space" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "metric" TEXT NOT NULL,
    "arch_hash" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "objective" DOUBLE PRECISION NOT NULL,
    "trial_id" UUID NOT NULL,
    "search_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "leaderboard_entries_pkey" PRIMARY KEY ("space","task","metric","arch_hash")
);

-- CreateTable
CREATE TABLE "alpha_snapshots" (
    "id" BIGSERIAL NOT NULL,
    "trial_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "alphas" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alpha_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "trial_artifacts" (
    "trial_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "content_type" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trial_artifacts_pkey" PRIMARY KEY ("trial_id","name")
);

-- CreateIndex
CREATE INDEX "searches_created_at_id_idx" ON "searches"("created_at", "id");

-- CreateIndex
CREATE INDEX "searches_space_task_created_at_idx" ON "searches"("space", "task", "created_at");

-- CreateIndex
CREATE INDEX "trials_search_id_status_idx" ON "trials"("search_id", "status");

-- CreateIndex
CREATE INDEX "trials_search_id_objective_idx" ON "trials"("search_id", "objective");

-- CreateIndex
CREATE INDEX "trials_search_id_finished_seq_idx" ON "trials"("search_id", "finished_seq");

-- CreateIndex
CREATE UNIQUE INDEX "trials_search_id_seq_key" ON "trials"("search_id", "seq");

-- CreateIndex
CREATE INDEX "curve_points_trial_id_attempt_step_idx" ON "curve_points"("trial_id", "attempt", "step");

-- CreateIndex
CREATE INDEX "alpha_snapshots_trial_id_attempt_step_idx" ON "alpha_snapshots"("trial_id", "attempt", "step");

-- CreateIndex
CREATE INDEX "leaderboard_entries_space_task_metric_score_idx" ON "leaderboard_entries"("space", "task", "metric", "score" DESC);

-- AddForeignKey
ALTER TABLE "trials" ADD CONSTRAINT "trials_search_id_fkey" FOREIGN KEY ("search_id") REFERENCES "searches"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trials" ADD CONSTRAINT "trials_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "trials"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "curve_points" ADD CONSTRAINT "curve_points_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "trial_artifacts" ADD CONSTRAINT "trial_artifacts_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alpha_snapshots" ADD CONSTRAINT "alpha_snapshots_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
