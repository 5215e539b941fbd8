-- 0017: the outbox (docs/design/0045-bus-and-outbox.md). Every message a bus
-- must deliver at least once (event changes, detections) is a row here,
-- written in the same transaction as the row it describes. seq is made by
-- horus, not by the database (storage_backend.h: no auto-increment): the
-- writer thread appends with MAX(seq) + 1 over this table and the cursors,
-- so a seq is never reused even after every row was trimmed. Global seq
-- order implies per-camera order.
-- kind: 'event' | 'detection'; type: 'new' | 'update' | 'end' for events;
-- payload: JSON text; created_us: append time (retention trims by it).
CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX outbox_by_created ON outbox (created_us);
-- One row per consumer (a bus: 'mqtt', 'nats', 'amqp'; later a webhook
-- target): the seq of the last row it has delivered, like a Kafka offset.
CREATE TABLE outbox_cursors (
    consumer TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
