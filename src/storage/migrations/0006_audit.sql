-- 0006: the audit chain (docs/design/0018-audit-chain.md). One row per
-- security-relevant action, appended by the writer thread only. Ids are
-- given by horus (previous id + 1, no gaps); prev_hash is the previous
-- row's hash (64 zeros for id 1) and hash = SHA-256(prev_hash ||
-- canonical form of the row), both in lowercase hex. Rows are never
-- updated or deleted by horus.
CREATE TABLE audit (
    id BIGINT PRIMARY KEY,
    time_us BIGINT NOT NULL,
    actor_kind TEXT NOT NULL DEFAULT '',
    actor_id TEXT NOT NULL DEFAULT '',
    actor_name TEXT NOT NULL DEFAULT '',
    tenant TEXT NOT NULL DEFAULT '',
    client TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_us, id);
CREATE INDEX audit_by_action ON audit (action, id);
CREATE INDEX audit_by_target ON audit (target_kind, target_id, id);
