-- 0021: the Horus nodes that share this index (docs/design/0064-node-identity.md).
-- One row per node id. instance: random per process start, so a second
-- process claiming an id that a live node holds is told apart from the
-- holder; home: random per data directory (<storage.path>/node), so a node
-- restarted on its own data directory after kill -9 takes its row back at
-- once (it holds that directory's lock: its previous process is dead).
-- heartbeat_ms: the holder's last renewal; stopped_ms: when it stopped
-- cleanly, 0 while it runs. url: where other nodes and clients reach its
-- API (node.url; "" = not said). Times are ms since the epoch.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    home TEXT NOT NULL,
    hostname TEXT NOT NULL,
    url TEXT NOT NULL,
    version TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    stopped_ms BIGINT NOT NULL
);
