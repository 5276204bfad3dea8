-- API tokens (only the SHA-256 digest of the secret) and equipment flags.

CREATE TABLE api_tokens (
    id            TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL,
    role          TEXT   NOT NULL CONSTRAINT role_known CHECK (role IN ('viewer', 'operator', 'admin')),
    digest        BYTEA  NOT NULL UNIQUE CONSTRAINT digest_sha256 CHECK (octet_length(digest) = 32),
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT CONSTRAINT revoked_after_created CHECK (revoked_at_us IS NULL OR revoked_at_us >= created_at_us)
);

-- At most one flag per equipment unit; it disappears with the unit.
CREATE TABLE equipment_flags (
    equipment_id  TEXT   NOT NULL PRIMARY KEY,
    facility_id   TEXT   NOT NULL,
    reason        TEXT   NOT NULL CONSTRAINT reason_present CHECK (length(reason) > 0),
    flagged_by    TEXT   NOT NULL,
    flagged_at_us BIGINT NOT NULL,
    FOREIGN KEY (facility_id, equipment_id) REFERENCES facility_equipment (facility_id, equipment_id) ON DELETE CASCADE
);

CREATE INDEX equipment_flags_by_facility ON equipment_flags (facility_id);
