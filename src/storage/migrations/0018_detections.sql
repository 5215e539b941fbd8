-- 0018: detections posted by external AI workers (POST /api/v1/detections,
-- docs/design/0046-detections-ingest.md). One row per detection; id is made
-- by horus (the writer numbers each batch after the largest id), so rows are
-- appended in id order. time_us: when the frame was seen (the worker's
-- clock); received_us: when horus took the batch. box: x0 < x1, y0 < y1,
-- normalised 0..1. track_id: "" when none; attributes: a JSON object ("{}"
-- when none). source: the API key's or session's principal id that posted.
-- Lists page newest first on (time_us, id), per camera or over all; the
-- retention job deletes the oldest time_us first.
CREATE TABLE detections (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    time_us BIGINT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    x0 REAL NOT NULL,
    y0 REAL NOT NULL,
    x1 REAL NOT NULL,
    y1 REAL NOT NULL,
    track_id TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    received_us BIGINT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX detections_by_time ON detections (time_us, id);
CREATE INDEX detections_by_camera ON detections (camera_id, time_us, id);
