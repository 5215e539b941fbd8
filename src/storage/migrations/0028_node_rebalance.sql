-- 0028: whether a node gives cameras to less loaded nodes (node.rebalance; docs/design/0069).
-- Every node plans for all of them from the rows, so each one's setting must be there.
ALTER TABLE nodes ADD COLUMN rebalance BIGINT NOT NULL DEFAULT 1;
