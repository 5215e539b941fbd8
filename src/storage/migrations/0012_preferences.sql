-- 0012: per-principal UI preferences (docs/design/0027-ui-api.md): one
-- JSON object per user (by name) or API key (by id) that the web UI
-- stores and reads back as it is (grid layout, tile order, chosen group).
-- The server never interprets body; it only bounds its size (16 KiB).
-- Rows leave with their owner: sto_user_delete and sto_api_key_revoke
-- delete them in the same transaction.
CREATE TABLE preferences (
    owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id)
);
