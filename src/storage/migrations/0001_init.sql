-- 0001: node settings. Later migrations add cameras, recordings, events.
-- Portable SQL only: it runs on SQLite and PostgreSQL.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
