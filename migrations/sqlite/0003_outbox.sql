-- Upload notifications (transactional outbox): one row per photo that became final, written
-- in the commit transaction, delivered by a worker with retries.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    event           TEXT NOT NULL,
    photographer    TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    delivered_at    BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- An event may send its notifications somewhere else than the deployment's webhook.
ALTER TABLE events ADD COLUMN webhook_url TEXT;
ALTER TABLE events ADD COLUMN webhook_secret TEXT;
