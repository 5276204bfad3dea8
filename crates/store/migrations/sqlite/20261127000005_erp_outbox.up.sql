-- The durable outbox of the ERP export: one row per completed calculation, delivered at least
-- once to the configured ERP endpoint. A trigger writes the row in the statement that inserts
-- the calculation, so both commit or neither does, whichever process (or release) inserts it.
-- The calculation id is the delivery's idempotency key. The document is built from the
-- calculation row at send time (rows of `calculations` are never updated), so the outbox
-- holds only delivery state.

CREATE TABLE erp_outbox (
    calculation_id     TEXT    NOT NULL PRIMARY KEY REFERENCES calculations (id) ON DELETE CASCADE,
    created_at_us      INTEGER NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0 CONSTRAINT attempts_non_negative CHECK (attempts >= 0),
    next_attempt_at_us INTEGER NOT NULL,
    -- A worker's claim: no other worker takes the row before claimed_until_us.
    claim_token        TEXT,
    claimed_until_us   INTEGER,
    last_attempt_at_us INTEGER,
    last_error         TEXT,
    delivered_at_us    INTEGER,
    -- Set when the ERP refused the document for good (a 4xx other than 408 and 429).
    failed_at_us       INTEGER,
    CONSTRAINT delivered_or_failed CHECK (delivered_at_us IS NULL OR failed_at_us IS NULL)
) STRICT;

CREATE INDEX erp_outbox_due ON erp_outbox (next_attempt_at_us)
    WHERE delivered_at_us IS NULL AND failed_at_us IS NULL;
-- Rows not delivered (pending or failed), for the status: few, unless the ERP is down.
CREATE INDEX erp_outbox_undelivered ON erp_outbox (last_attempt_at_us)
    WHERE delivered_at_us IS NULL;
CREATE INDEX erp_outbox_delivered ON erp_outbox (delivered_at_us)
    WHERE delivered_at_us IS NOT NULL;

CREATE TRIGGER erp_outbox_enqueue
AFTER INSERT ON calculations
WHEN NEW.status = 'completed'
BEGIN
    INSERT INTO erp_outbox (calculation_id, created_at_us, next_attempt_at_us)
    VALUES (NEW.id, NEW.created_at_us, NEW.created_at_us);
END;
