-- 0002: cameras (the source of truth; YAML-declared ones are provisioned
-- into it and marked provisioned) and recordings (one row per closed
-- segment; fragments holds the compact per-part index blob).
-- Portable SQL: BYTEA has BLOB storage in SQLite and is native in PostgreSQL;
-- natural primary keys avoid backend-specific auto-increment syntax.
CREATE TABLE cameras (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    sub_url TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    record_enabled INTEGER NOT NULL DEFAULT 1,
    segment_seconds INTEGER NOT NULL DEFAULT 60,
    retention_days INTEGER NOT NULL DEFAULT 14,
    max_bytes BIGINT NOT NULL DEFAULT 0,
    provisioned INTEGER NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE recordings (
    camera_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    end_us BIGINT NOT NULL,
    path TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    codec TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    fragments BYTEA,
    pinned_until_us BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (camera_id, stream, start_us)
);
CREATE INDEX recordings_by_end ON recordings (camera_id, stream, end_us);
CREATE INDEX recordings_by_start ON recordings (start_us);
