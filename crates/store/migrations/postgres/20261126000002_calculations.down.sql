DROP TABLE calculation_equipment;
DROP TABLE calculations;
