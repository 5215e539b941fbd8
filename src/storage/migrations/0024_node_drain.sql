-- 0024: draining a node (docs/design/0067-node-drain.md). draining_ms: when an
-- operator asked the node to give its cameras to the other nodes (`horus node
-- drain`), ms since the epoch; 0 = not draining. It outlives the node's
-- restarts until `horus node undrain`: a node drained for maintenance stays
-- empty when it comes back.
ALTER TABLE nodes ADD COLUMN draining_ms BIGINT NOT NULL DEFAULT 0;
