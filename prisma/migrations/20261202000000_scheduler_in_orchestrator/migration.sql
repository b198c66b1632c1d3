-- One writer per search: the orchestrator owns a search's scheduler. It gives each trial its rung budgets when it
-- creates the trial, trainers record what a trial scored at a rung, and the orchestrator decides (continue or
-- prune) under the search's lock. A job (DARTS' supernet) carries its own evaluator options.

-- AlterTable
ALTER TABLE "trials" ADD COLUMN "budgets" DOUBLE PRECISION[];
ALTER TABLE "trials" ADD COLUMN "evaluator" JSONB;

-- CreateTable
CREATE TABLE "rung_reports" (
    "id" BIGSERIAL NOT NULL,
    "trial_id" UUID NOT NULL,
    "search_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "budget" DOUBLE PRECISION NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "decision" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decided_at" TIMESTAMPTZ(3),

    CONSTRAINT "rung_reports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rung_reports_search_id_decision_idx" ON "rung_reports"("search_id", "decision");

-- AddForeignKey
ALTER TABLE "rung_reports" ADD CONSTRAINT "rung_reports_trial_id_fkey" FOREIGN KEY ("trial_id") REFERENCES "trials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
