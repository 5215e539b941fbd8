-- 0015: events (docs/design/0040-events.md). One row per object event (a
-- tracked object from its first confirmed report to its removal), motion
-- burst, or event posted through the API. Ids are "<start_us, 17 digits>-
-- <8 hex>", so they sort by start; lists page newest first on (start_us, id).
-- end_us is NULL while the event is open; updated_us is the last time the
-- event changed (a crash-left open event is ended there at the next start).
-- zones: JSON array of zone names entered (union); box: JSON [x0,y0,x1,y1]
-- normalised; details: JSON object (crossings, loiters). pinned_until_us:
-- the event, its snapshots and its recording pins ("event:<id>:<stream>")
-- are kept until then (events.retention_days after the start).
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    label TEXT NOT NULL,
    sub_label TEXT NOT NULL DEFAULT '',
    score REAL NOT NULL DEFAULT 0,
    top_score REAL NOT NULL DEFAULT 0,
    start_us BIGINT NOT NULL,
    end_us BIGINT,
    updated_us BIGINT NOT NULL,
    zones TEXT NOT NULL DEFAULT '[]',
    box TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    has_snapshot INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    pinned_until_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_by_start ON events (start_us, id);
CREATE INDEX events_by_camera ON events (camera_id, start_us, id);
CREATE INDEX events_by_label ON events (label, start_us, id);
CREATE INDEX events_by_pinned ON events (pinned_until_us);
CREATE INDEX events_open ON events (end_us) WHERE end_us IS NULL;
