-- Readings lose their per-row foreign key to reading_series: SQLite checked it on every inserted
-- row, a third of the ingest time. The store creates a batch's series in the same transaction
-- before its readings, so the key could not fail there; what it also guarded — deleting a series
-- that readings still use — is now refused by a trigger, which costs nothing on ingest.

DROP VIEW readings_by_tag;

CREATE TABLE readings_unkeyed (
    series_id INTEGER NOT NULL,
    time_us   INTEGER NOT NULL,
    value     REAL    NOT NULL CONSTRAINT value_finite CHECK (value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
    quality   INTEGER NOT NULL CONSTRAINT quality_known CHECK (quality IN (0, 1, 2)),
    revision  INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    PRIMARY KEY (series_id, time_us)
) STRICT, WITHOUT ROWID;

INSERT INTO readings_unkeyed (series_id, time_us, value, quality, revision)
SELECT series_id, time_us, value, quality, revision FROM readings;
DROP TABLE readings;
ALTER TABLE readings_unkeyed RENAME TO readings;

CREATE TRIGGER reading_series_in_use
BEFORE DELETE ON reading_series
WHEN EXISTS (SELECT 1 FROM readings WHERE series_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: readings refer to this series');
END;

-- Readings by name, for operators' ad-hoc queries.
CREATE VIEW readings_by_tag AS
SELECT s.facility_id, s.tag, r.time_us, r.value, r.quality, r.revision
FROM readings AS r
JOIN reading_series AS s ON s.id = r.series_id;
