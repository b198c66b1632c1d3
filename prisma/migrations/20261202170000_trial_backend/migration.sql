-- The tfjs backend a trial trained on (tensorflow, wasm, cpu, webgpu, …), set by the trainer when it starts the
-- trial: a search whose trainers run different backends says so (GET /v1/searches/:id `backends`), and a trial's
-- speed can be read against the backend it had. NULL for trials not started yet (and for trials stored before).

-- AlterTable
ALTER TABLE "trials" ADD COLUMN "backend" TEXT;
