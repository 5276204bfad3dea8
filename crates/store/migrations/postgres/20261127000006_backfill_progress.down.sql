-- Drops the backfill progress: a re-run of an interrupted backfill then starts from its
-- beginning, which the idempotent ingest absorbs.

DROP TABLE backfill_progress;
