-- Set by `ftpgate reconcile --fix` when an entry's blob is gone from the store.
ALTER TABLE entries ADD COLUMN blob_missing BIGINT NOT NULL DEFAULT 0;
