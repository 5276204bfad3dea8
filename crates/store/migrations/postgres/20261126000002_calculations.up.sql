-- Calculation results. The CHECK constraints make a corrupt row (efficiency outside 0-100 %,
-- balance error above 10 %, a completed row without numbers) impossible to store.

CREATE TABLE calculations (
    id                     TEXT             NOT NULL PRIMARY KEY CONSTRAINT id_format CHECK (id LIKE 'CALC-%'),
    facility_id            TEXT             NOT NULL REFERENCES facilities (id),
    period_start_us        BIGINT           NOT NULL,
    period_end_us          BIGINT           NOT NULL,
    status                 TEXT             NOT NULL CONSTRAINT status_known CHECK (status IN ('completed', 'failed')),
    -- NaN sorts above every number in PostgreSQL, so the ranges refuse it too.
    efficiency             DOUBLE PRECISION CONSTRAINT efficiency_range
                                            CHECK (efficiency IS NULL OR (efficiency >= 0 AND efficiency <= 100)),
    energy_balance_percent DOUBLE PRECISION CONSTRAINT energy_balance_range
                                            CHECK (energy_balance_percent IS NULL OR (energy_balance_percent >= 0 AND energy_balance_percent <= 10)),
    provenance_hash        TEXT             NOT NULL,
    input_hash             TEXT             NOT NULL,
    method_version         TEXT             NOT NULL,
    service_version        TEXT             NOT NULL,
    request                JSON             NOT NULL,
    result                 JSON             NOT NULL,
    failure_reason         TEXT,
    created_at_us          BIGINT           NOT NULL,
    -- The same instant as created_at_us, for the runbook's `created_at >= NOW() - INTERVAL ...`.
    created_at             TIMESTAMPTZ      NOT NULL,
    CONSTRAINT created_at_matches CHECK (created_at = TIMESTAMPTZ 'epoch' + created_at_us * INTERVAL '1 microsecond'),
    CONSTRAINT period_order CHECK (period_end_us > period_start_us),
    CONSTRAINT status_consistent CHECK ((status = 'completed' AND efficiency IS NOT NULL AND energy_balance_percent IS NOT NULL AND failure_reason IS NULL)
        OR (status = 'failed' AND efficiency IS NULL AND energy_balance_percent IS NULL AND failure_reason IS NOT NULL))
);

CREATE INDEX calculations_by_created ON calculations (created_at_us DESC, id DESC);
CREATE INDEX calculations_by_facility_created ON calculations (facility_id, created_at_us DESC, id DESC);
CREATE INDEX calculations_by_created_at ON calculations (created_at);

CREATE TABLE calculation_equipment (
    calculation_id TEXT   NOT NULL REFERENCES calculations (id) ON DELETE CASCADE,
    equipment_id   TEXT   NOT NULL,
    position       BIGINT NOT NULL,
    PRIMARY KEY (calculation_id, equipment_id)
);

CREATE INDEX calculation_equipment_by_equipment ON calculation_equipment (equipment_id);
