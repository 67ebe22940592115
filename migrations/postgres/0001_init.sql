-- ftpgate catalog, PostgreSQL flavour. Times are Unix milliseconds (BIGINT), portable to PostgreSQL.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE photographers (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active',
    key_generation BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL
);

CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'open',
    starts_at      BIGINT,
    ends_at        BIGINT,
    max_bytes      BIGINT,
    max_files      BIGINT,
    max_file_size  BIGINT,
    allowed_types  TEXT,
    used_bytes     BIGINT NOT NULL DEFAULT 0,
    used_files     BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE grants (
    photographer TEXT NOT NULL REFERENCES photographers(username),
    event        TEXT NOT NULL REFERENCES events(id),
    role         TEXT NOT NULL,
    max_bytes    BIGINT,
    used_bytes   BIGINT NOT NULL DEFAULT 0,
    used_files   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (photographer, event)
);

-- One row per file or directory in a (event, photographer) namespace. `path` is relative to the
-- namespace root ("2026-06-01/DSC_0001.JPG"); `parent` is "" for top-level entries.
CREATE TABLE entries (
    event        TEXT NOT NULL,
    photographer TEXT NOT NULL,
    path         TEXT NOT NULL,
    parent       TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    size         BIGINT NOT NULL DEFAULT 0,
    mtime        BIGINT NOT NULL,
    sha256       TEXT,
    content_type TEXT,
    object_key   TEXT,
    uploader_ip  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (event, photographer, path)
);
CREATE INDEX entries_by_parent ON entries (event, photographer, parent, name);
CREATE INDEX entries_by_object ON entries (object_key);

CREATE TABLE audit (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           BIGINT NOT NULL,
    door         TEXT NOT NULL,
    action       TEXT NOT NULL,
    result       TEXT NOT NULL,
    photographer TEXT,
    event        TEXT,
    path         TEXT,
    target       TEXT,
    ip           TEXT,
    size         BIGINT,
    sha256       TEXT,
    detail       TEXT
);
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_photographer ON audit (photographer, at);
CREATE INDEX audit_by_event ON audit (event, at);

-- Failed-login counters for lock-out, shared by every replica and both doors.
CREATE TABLE lockouts (
    scope        TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
