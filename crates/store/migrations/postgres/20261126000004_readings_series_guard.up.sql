-- Readings lose their per-row foreign key to reading_series, as on SQLite: the key was checked
-- for every inserted row, and the store creates a batch's series in the same transaction before
-- its readings, so it could not fail there. What it also guarded — deleting a series that
-- readings still use — is now refused by a trigger, which costs nothing on ingest.

ALTER TABLE readings DROP CONSTRAINT readings_series_id_fkey;

CREATE FUNCTION reading_series_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM readings WHERE series_id = OLD.id) THEN
        RAISE EXCEPTION 'readings refer to series %', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER reading_series_in_use
BEFORE DELETE ON reading_series
FOR EACH ROW EXECUTE FUNCTION reading_series_in_use();
