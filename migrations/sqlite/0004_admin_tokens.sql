-- Bearer tokens of the admin REST API. Only a SHA-256 of each token is stored (tokens are 256
-- random bits, so a fast hash is enough); the token itself is printed once by
-- `ftpgate admin-token create`. A revoked token keeps its row, for the record; its name can be
-- given to a new token.
CREATE TABLE admin_tokens (
    token_hash   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX admin_tokens_active_name ON admin_tokens (name) WHERE revoked_at IS NULL;

-- The admin API lists an event's uploads newest first, a page at a time.
CREATE INDEX entries_by_event_updated ON entries (event, updated_at);
