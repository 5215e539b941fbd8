-- 0020: Idempotency-Key of POST /api/v1/detections (docs/design/0046, section
-- "Retries"). One row per (source, key): source is the caller's principal
-- ("key:<id>" or "user:<name>"), so two workers' keys never meet. The row is
-- written in the same savepoint as the batch's detections, so it is durable
-- exactly when they are. body_hash: SHA-256 of the request body (hex);
-- stored: the count the first reply gave; created_us: when it was stored.
-- The detections retention tick deletes rows older than
-- detections.idempotency_window.
CREATE TABLE detection_keys (
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    stored BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE INDEX detection_keys_by_time ON detection_keys (created_us);
