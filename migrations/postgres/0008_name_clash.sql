-- What a different photo under a name already taken does: keep_both (the new one takes the
-- name, the earlier one stays a photo of its own), replace, or refuse.
ALTER TABLE events ADD COLUMN on_name_clash TEXT NOT NULL DEFAULT 'keep_both';

-- Photos a newer one took the name of (keep_both): out of the photographer's tree, kept with
-- their blob, counted in the quota, listed and downloadable through the admin API.
-- `id` is the photo's id (the ULID of its object key), as is `superseded_by`.
CREATE TABLE superseded (
    id            TEXT PRIMARY KEY,
    event         TEXT NOT NULL,
    photographer  TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          BIGINT NOT NULL,
    mtime         BIGINT NOT NULL,
    sha256        TEXT,
    content_type  TEXT,
    object_key    TEXT NOT NULL,
    uploader_ip   TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    superseded_by TEXT NOT NULL,
    superseded_at BIGINT NOT NULL
);
CREATE INDEX superseded_by_event ON superseded (event, updated_at);
CREATE INDEX superseded_by_object ON superseded (object_key);

-- Which notification types an event sends (comma-separated, e.g. photo.created,upload.rejected);
-- NULL: all of them.
ALTER TABLE events ADD COLUMN webhook_types TEXT;

-- What ingest read from each photo (issue 12 §3): the notification's `photo` object as JSON,
-- and why it could not be read when it could not.
ALTER TABLE entries ADD COLUMN meta TEXT;
ALTER TABLE entries ADD COLUMN meta_error TEXT;
ALTER TABLE superseded ADD COLUMN meta TEXT;
ALTER TABLE superseded ADD COLUMN meta_error TEXT;
-- For the uploads list: sorted by capture time (the camera's local time, as milliseconds of that
-- wall-clock time read as UTC: sortable within an event), filtered by camera body.
ALTER TABLE entries ADD COLUMN captured_ms BIGINT;
ALTER TABLE entries ADD COLUMN camera_serial TEXT;
ALTER TABLE superseded ADD COLUMN captured_ms BIGINT;
ALTER TABLE superseded ADD COLUMN camera_serial TEXT;
