-- Datasets uploaded by users (POST /v1/datasets): one row per (project, content), the id derived from the content
-- hash (`ds_` + the first 20 hex digits of sha256(kind + "\n" + bytes)), so the same bytes uploaded twice are the
-- same dataset. The content is kept in PostgreSQL in chunks of about 1 MB, so that every trainer that reaches the
-- database can read it; the row and all its chunks are written in one transaction, after the whole body was
-- received and validated (nothing half-stored).

-- CreateTable
CREATE TABLE "datasets" (
    "project_id" UUID NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "stats" JSONB NOT NULL,
    "store" TEXT NOT NULL DEFAULT 'postgres',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("project_id", "id"),
    CONSTRAINT "datasets_kind_check" CHECK ("kind" IN ('text', 'vectors', 'images')),
    CONSTRAINT "datasets_store_check" CHECK ("store" IN ('postgres', 's3'))
);

-- CreateIndex
CREATE INDEX "datasets_project_id_created_at_id_idx" ON "datasets"("project_id", "created_at", "id");

-- AddForeignKey
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "dataset_chunks" (
    "project_id" UUID NOT NULL,
    "dataset_id" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "dataset_chunks_pkey" PRIMARY KEY ("project_id", "dataset_id", "seq")
);

-- AddForeignKey
ALTER TABLE "dataset_chunks" ADD CONSTRAINT "dataset_chunks_dataset_fkey" FOREIGN KEY ("project_id", "dataset_id") REFERENCES "datasets"("project_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
