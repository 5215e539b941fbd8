-- 0011: camera groups (docs/design/0016-identity.md, "Camera groups"). A
-- camera belongs to any number of named groups; grants name a group as
-- "group:NAME" and are expanded into the ids listed here when a principal
-- is built, through the index on group_name. Rows leave with their camera
-- (ON DELETE CASCADE), so a camera created again with the same id starts
-- in no group.
CREATE TABLE camera_groups (
    camera_id TEXT NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (camera_id, group_name)
);
CREATE INDEX camera_groups_by_group ON camera_groups (group_name, camera_id);
