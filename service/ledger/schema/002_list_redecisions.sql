-- A list version's re-decisions (pending requests and recent refusals of its date) run after its commit;
-- this marks when they finished, so that a crash in between is caught up by the sweep.
ALTER TABLE list_versions ADD COLUMN redecided_at TEXT;
CREATE INDEX list_versions_awaiting ON list_versions (submitted_at) WHERE redecided_at IS NULL;
