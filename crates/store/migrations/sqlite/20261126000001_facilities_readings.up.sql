-- Facilities, their equipment units and the meter readings.

CREATE TABLE facilities (
    id            TEXT    NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    name          TEXT    NOT NULL,
    time_zone     TEXT    NOT NULL,
    spec          TEXT    NOT NULL CONSTRAINT spec_json CHECK (json_valid(spec)),
    updated_at_us INTEGER NOT NULL
) STRICT;

-- An equipment id belongs to exactly one facility (the primary key enforces it across facilities).
CREATE TABLE facility_equipment (
    equipment_id TEXT    NOT NULL PRIMARY KEY CHECK (length(equipment_id) BETWEEN 1 AND 200),
    facility_id  TEXT    NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    UNIQUE (facility_id, equipment_id)
) STRICT;

-- One row per (facility, tag): readings refer to it by a small integer, which halves the size of
-- the readings key and the cost of ingest compared with repeating both strings in every row.
CREATE TABLE reading_series (
    id          INTEGER NOT NULL PRIMARY KEY,
    facility_id TEXT    NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    tag         TEXT    NOT NULL CHECK (length(tag) > 0),
    UNIQUE (facility_id, tag)
) STRICT;

-- One row per (facility, tag, time), through the series id. The clustered key serves both the
-- idempotent upsert and the range read of one tag; `revision` counts corrections of the same key.
CREATE TABLE readings (
    series_id INTEGER NOT NULL REFERENCES reading_series (id),
    time_us   INTEGER NOT NULL,
    value     REAL    NOT NULL CONSTRAINT value_finite CHECK (value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
    quality   INTEGER NOT NULL CONSTRAINT quality_known CHECK (quality IN (0, 1, 2)),
    revision  INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    PRIMARY KEY (series_id, time_us)
) STRICT, WITHOUT ROWID;

-- Readings by name, for operators' ad-hoc queries.
CREATE VIEW readings_by_tag AS
SELECT s.facility_id, s.tag, r.time_us, r.value, r.quality, r.revision
FROM readings AS r
JOIN reading_series AS s ON s.id = r.series_id;
