-- Multi-objective searches: the whole list of objectives (the first is also objective_metric/objective_direction),
-- the constraints on metrics, and the declared reference point of the search's hypervolume. NULL on searches of a
-- single objective without constraints, as every search stored before this migration.

-- AlterTable
ALTER TABLE "searches" ADD COLUMN "objective_list" JSONB;
ALTER TABLE "searches" ADD COLUMN "constraints" JSONB;
ALTER TABLE "searches" ADD COLUMN "reference_point" JSONB;
