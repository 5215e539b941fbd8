-- 0019: webhook targets and their dead letters (docs/design/0049-webhooks.md).
-- A target receives the outbox's messages (events) that pass its filter,
-- one at a time and in order, as signed HTTP POSTs; its position in the
-- outbox is the cursor "webhook:<id>" (outbox_cursors). secret: the HMAC
-- key, sealed by the secret box with additional data "webhook <id>"
-- ("plain:" and the key when no box is set; "" = unsigned). cameras,
-- labels, types: JSON arrays of strings, [] = every one. tenant: the
-- tenant of the admin who made it ("" = none); a target of a tenant only
-- receives messages about that tenant's cameras.
-- A message the receiver refused past the target's limits is moved to
-- webhook_dead_letters (kept until redelivered or deleted with its target).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    cameras TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '[]',
    types TEXT NOT NULL DEFAULT '[]',
    enabled INTEGER NOT NULL DEFAULT 1,
    timeout_ms BIGINT NOT NULL DEFAULT 10000,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    tenant TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE webhook_dead_letters (
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at_ms BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, seq)
);
