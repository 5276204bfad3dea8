-- Browser sessions of the web application: only the SHA-256 digest of the session secret is
-- stored (like api_tokens), so a copy of the database does not let anyone sign in. A session
-- belongs to the API token it was opened with and ends with it.

CREATE TABLE web_sessions (
    id_digest     TEXT    NOT NULL PRIMARY KEY CONSTRAINT id_digest_sha256_hex CHECK (length(id_digest) = 64),
    token_id      TEXT    NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf          TEXT    NOT NULL CONSTRAINT csrf_present CHECK (length(csrf) = 64),
    created_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    CONSTRAINT expires_after_created CHECK (expires_at_us > created_at_us)
) STRICT;

CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at_us);
CREATE INDEX web_sessions_by_token ON web_sessions (token_id);
