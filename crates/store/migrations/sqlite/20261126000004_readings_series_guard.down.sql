-- Back to the per-row foreign key of version 20261126000001; every reading keeps its series.

DROP VIEW readings_by_tag;
DROP TRIGGER reading_series_in_use;

CREATE TABLE readings_keyed (
    series_id INTEGER NOT NULL REFERENCES reading_series (id),
    time_us   INTEGER NOT NULL,
    value     REAL    NOT NULL CONSTRAINT value_finite CHECK (value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
    quality   INTEGER NOT NULL CONSTRAINT quality_known CHECK (quality IN (0, 1, 2)),
    revision  INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    PRIMARY KEY (series_id, time_us)
) STRICT, WITHOUT ROWID;

INSERT INTO readings_keyed (series_id, time_us, value, quality, revision)
SELECT series_id, time_us, value, quality, revision FROM readings;
DROP TABLE readings;
ALTER TABLE readings_keyed RENAME TO readings;

CREATE VIEW readings_by_tag AS
SELECT s.facility_id, s.tag, r.time_us, r.value, r.quality, r.revision
FROM readings AS r
JOIN reading_series AS s ON s.id = r.series_id;
