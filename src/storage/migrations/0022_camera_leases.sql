-- 0022: which node records which camera (docs/design/0065-camera-leases.md). One
-- row per camera that a node has claimed. node_id: the holder (nodes.id);
-- expires_ms: the holder renews it every node.ttl / 3, and any node may take a
-- lease whose time has passed; token: raised each time the lease changes hands,
-- so a holder can tell that it lost the lease in between. A node that stops
-- cleanly deletes its rows. Times are ms since the epoch.
CREATE TABLE camera_leases (
    camera_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    token BIGINT NOT NULL
);
CREATE INDEX camera_leases_by_node ON camera_leases (node_id);
