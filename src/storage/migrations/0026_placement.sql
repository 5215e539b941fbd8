-- 0026: where cameras may run (docs/design/0069-placement.md).
-- nodes.capacity: the most enabled cameras the node records (node.capacity; 0 = no limit);
-- nodes.labels: its labels (node.labels), comma-separated, as it last started with.
-- cameras.placement_node: the one node that may record the camera ('' = any);
-- cameras.placement_labels: labels a node must all have to record it, comma-separated.
ALTER TABLE nodes ADD COLUMN capacity BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN labels TEXT NOT NULL DEFAULT '';
ALTER TABLE cameras ADD COLUMN placement_node TEXT NOT NULL DEFAULT '';
ALTER TABLE cameras ADD COLUMN placement_labels TEXT NOT NULL DEFAULT '';
