-- 0016: per-camera analytics document (docs/design/0039-zones-tripwires.md).
-- One JSON object (zones, masks, tripwires, object filters) validated by
-- src/detect/analytics_cfg.c before it is stored; '' means the defaults.
ALTER TABLE cameras ADD COLUMN analytics TEXT NOT NULL DEFAULT '';
