-- Dropping readings drops all its partitions.
DROP VIEW readings_by_tag;
DROP TABLE readings;
DROP TABLE reading_series;
DROP TABLE facility_equipment;
DROP TABLE facilities;
