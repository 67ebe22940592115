-- One notification per photo content and path: a photo renamed to a temporary name and back,
-- or uploaded again unchanged, is not announced again. `photo_key` is the SHA-256 of event,
-- photographer, path and content hash; rows queued before this migration have none.
ALTER TABLE outbox ADD COLUMN photo_key TEXT;
CREATE UNIQUE INDEX outbox_once ON outbox (photo_key);
