DROP TABLE readings;
DROP TABLE facility_equipment;
DROP TABLE facilities;
