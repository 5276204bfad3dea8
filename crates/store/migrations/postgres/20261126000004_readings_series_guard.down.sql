-- Back to the per-row foreign key of version 20261126000001; every reading keeps its series.

DROP TRIGGER reading_series_in_use ON reading_series;
DROP FUNCTION reading_series_in_use();

ALTER TABLE readings ADD CONSTRAINT readings_series_id_fkey
    FOREIGN KEY (series_id) REFERENCES reading_series (id);
