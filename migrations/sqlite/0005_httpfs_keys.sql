-- HTTPFs keys are random, handed to SFTPGo by the auth hook at each login, and stored as a
-- SHA-256 only (256 random bits, so a fast hash is enough): a copy of the catalog mints no key.
-- `generation` is the photographer's key generation at issue; bumping it (revoke-keys, a new
-- password, disabling) refuses every older key at once. Rows unused for a week are purged.
CREATE TABLE httpfs_keys (
    key_id       TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL,
    photographer TEXT NOT NULL,
    generation   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX httpfs_keys_by_photographer ON httpfs_keys (photographer, last_used_at);

-- The shared MAC secret of the earlier key format lived here in plain text.
DELETE FROM settings WHERE name = 'httpfs_key_secret';

-- Logins being verified right now, per lock-out scope: an attempt is counted before its
-- password is verified, so that parallel guesses cannot all be verified (issue: a burst of 40
-- got 40 argon2 runs); `failures` counts verified failures only.
ALTER TABLE lockouts ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
