-- The live events of a search (GET /v1/searches/:id/events), derived from PostgreSQL so that a reconnecting client
-- loses nothing and any API process can serve any client. Triggers write one row per change, in the transaction
-- that makes it (so an event exists exactly when its change was committed):
--   trials:       insert → trial.queued; a status change → trial.started | trial.<status>; each also a `search` event
--                 (the search's progress changed); a completed trial that beats every trial completed before it
--                 (as its transaction saw them) → best
--   curve_points: insert → curve
--   searches:     insert → search; a status change → search, or end when the search finished
-- and NOTIFY search_events (payload: the search id), which wakes the API processes that stream that search.
--
-- Why `seq` is not assigned here: a per-search counter taken in these triggers would serialise the trainers'
-- transactions of a search (and could deadlock with the orchestrator's, which holds the search row and updates
-- trials); a global sequence is not gap-free in commit order (a transaction can commit after a later id is
-- read), so a client resuming after an id could skip one. Instead the readers (db/events.ts, under an advisory
-- lock per search) number the committed rows that have no `seq` yet, in `id` order, after the largest `seq` given:
-- numbers follow commit visibility, are never reused, and a client that resumes after one gets exactly the rest.
--
-- No foreign key to searches: its check would take a share lock on the search row, which the orchestrator holds
-- FOR UPDATE while it advances. Events are kept as long as their search is, and deleted with it (trigger below).

-- CreateTable
CREATE TABLE "search_events" (
    "id" BIGSERIAL NOT NULL,
    "search_id" UUID NOT NULL,
    "seq" BIGINT,
    "type" TEXT NOT NULL,
    "trial_id" UUID,
    "data" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "search_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "search_events_search_id_seq_key" ON "search_events"("search_id", "seq");
-- The rows still to number (few at any time: numbered as soon as a reader of their search looks).
CREATE INDEX "search_events_unsequenced_idx" ON "search_events"("search_id", "id") WHERE "seq" IS NULL;

CREATE FUNCTION "search_events_of_trial"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  maximize boolean;
  beaten boolean;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
    RETURN NULL;
  END IF;
  INSERT INTO search_events (search_id, type, trial_id, data) VALUES
    (NEW.search_id, CASE WHEN NEW.status = 'running' THEN 'trial.started' ELSE 'trial.' || NEW.status::text END, NEW.id, to_jsonb(NEW)),
    (NEW.search_id, 'search', NULL, NULL);
  IF NEW.status = 'completed' AND NEW.objective IS NOT NULL AND NEW.kind = 'trial' THEN
    SELECT objective_direction = 'maximize' INTO maximize FROM searches WHERE id = NEW.search_id;
    SELECT EXISTS (
      SELECT 1 FROM trials t
      WHERE t.search_id = NEW.search_id AND t.status = 'completed' AND t.kind = 'trial' AND t.id <> NEW.id AND t.objective IS NOT NULL
        AND CASE WHEN maximize THEN t.objective >= NEW.objective ELSE t.objective <= NEW.objective END
    ) INTO beaten;
    IF NOT beaten THEN
      INSERT INTO search_events (search_id, type, trial_id, data) VALUES
        (NEW.search_id, 'best', NEW.id, jsonb_build_object('trialId', NEW.id, 'objective', NEW.objective, 'architecture', NEW.architecture));
    END IF;
  END IF;
  PERFORM pg_notify('search_events', NEW.search_id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "search_events_of_trial" AFTER INSERT OR UPDATE OF "status" ON "trials"
  FOR EACH ROW EXECUTE FUNCTION "search_events_of_trial"();

CREATE FUNCTION "search_events_of_curve"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  search uuid;
BEGIN
  SELECT search_id INTO search FROM trials WHERE id = NEW.trial_id;
  INSERT INTO search_events (search_id, type, trial_id, data) VALUES
    (search, 'curve', NEW.trial_id, jsonb_build_object('trialId', NEW.trial_id, 'step', NEW.step, 'metrics', NEW.values));
  PERFORM pg_notify('search_events', search::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "search_events_of_curve" AFTER INSERT ON "curve_points"
  FOR EACH ROW EXECUTE FUNCTION "search_events_of_curve"();

CREATE FUNCTION "search_events_of_search"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM search_events WHERE search_id = OLD.id;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
    RETURN NULL;
  END IF;
  INSERT INTO search_events (search_id, type, trial_id, data) VALUES
    (NEW.id, CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled') THEN 'end' ELSE 'search' END, NULL, NULL);
  PERFORM pg_notify('search_events', NEW.id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER "search_events_of_search" AFTER INSERT OR DELETE OR UPDATE OF "status" ON "searches"
  FOR EACH ROW EXECUTE FUNCTION "search_events_of_search"();
