-- 0027: which node delivers each outbox consumer's messages (docs/design/0071-outbox-across-
-- nodes.md). Nodes of one database share the outbox and its cursors; a consumer (a bus, a
-- webhook target) is delivered by one node at a time, the one named here until
-- holder_until_ms (ms since the epoch), which it renews. '' = nobody yet.
ALTER TABLE outbox_cursors ADD COLUMN holder TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_cursors ADD COLUMN holder_until_ms BIGINT NOT NULL DEFAULT 0;
