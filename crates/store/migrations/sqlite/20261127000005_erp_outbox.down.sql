-- Removes the ERP outbox; calculations are untouched.

DROP TRIGGER erp_outbox_enqueue;
DROP TABLE erp_outbox;
