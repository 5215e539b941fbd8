-- 0004: the storage budget (docs/design/0013-storage-budget.md).
-- pins: ranges of recordings the watermark deletes only after every
-- unpinned recording (an export pins its range while the export exists).
-- until_us 0 means "while the owner exists"; the owner deletes the pin.
CREATE TABLE pins (
    id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    end_us BIGINT NOT NULL,
    reason TEXT NOT NULL,
    until_us BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX pins_by_camera ON pins (camera_id, stream, start_us);

-- camera_orphans: recordings of a deleted camera move to the camera id
-- orphan_id ("<id>~<deleted ms>", never a valid camera id), so a camera
-- created later with the same id starts with an empty timeline; retention
-- deletes them storage.deleted_camera_grace after deleted_at_ms unless a
-- new camera adopts them.
CREATE TABLE camera_orphans (
    orphan_id TEXT PRIMARY KEY,
    camera_id TEXT NOT NULL,
    deleted_at_ms BIGINT NOT NULL
);
CREATE INDEX camera_orphans_by_camera ON camera_orphans (camera_id);

-- Exports that exist already pin their ranges from now on.
INSERT INTO pins (id, camera_id, stream, start_us, end_us, reason, until_us, created_at_ms)
SELECT 'export:' || id, camera_id, stream, start_us, end_us, 'export', 0, created_at_ms
FROM exports WHERE state IN ('queued', 'running', 'done');
