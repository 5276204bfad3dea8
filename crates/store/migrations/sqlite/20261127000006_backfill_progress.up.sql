-- Progress of `thermaliq backfill`: how far each (facility, historian source, requested range)
-- has been stored, so a re-run after an interruption continues where the last one stopped.
-- The range is half-open, [from_us, to_us); done_until_us is the end of the stored prefix.

CREATE TABLE backfill_progress (
    facility_id   TEXT    NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    source        TEXT    NOT NULL CHECK (length(source) > 0),
    from_us       INTEGER NOT NULL,
    to_us         INTEGER NOT NULL,
    done_until_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (facility_id, source, from_us, to_us),
    CONSTRAINT backfill_range CHECK (to_us > from_us),
    CONSTRAINT backfill_done_within CHECK (done_until_us BETWEEN from_us AND to_us)
) STRICT;
