-- 0023: when the holder of a camera's lease took it (docs/design/0066-fencing.md).
-- since_ms: ms since the epoch by the claiming node's clock, set each time the
-- lease changes hands. An index row written under an older token is refused
-- unless it ended by then: footage of the old holder's tenure stays, a row over
-- the new holder's does not. 0 for leases taken before this migration.
ALTER TABLE camera_leases ADD COLUMN since_ms BIGINT NOT NULL DEFAULT 0;
