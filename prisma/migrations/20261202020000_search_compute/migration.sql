-- The estimated training FLOPs of the trials a search has created (its budget is MAX_TRAIN_FLOPS_PER_SEARCH),
-- and whether it has stopped proposing because the next trial would pass that budget.

-- AlterTable
ALTER TABLE "searches" ADD COLUMN "compute_flops" DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE "searches" ADD COLUMN "compute_exhausted" BOOLEAN NOT NULL DEFAULT false;
