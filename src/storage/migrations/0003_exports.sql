-- 0003: export jobs (docs/design/0007-exports-and-snapshots.md). One row per
-- job; ids sort by creation time, so the list pages by id. Progress is kept
-- in memory while a job runs and written here when it ends.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    end_us BIGINT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    duration_us BIGINT NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    started_at_ms BIGINT NOT NULL DEFAULT 0,
    finished_at_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX exports_by_state ON exports (state);
CREATE INDEX exports_by_finished ON exports (finished_at_ms);
