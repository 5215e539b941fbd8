-- 0013: per-camera RTSP transport and client (docs/design/0034). "" means
-- "use the global ingest.transport / ingest.client", so every camera that
-- existed before keeps the behaviour it had. transport: '', 'auto', 'tcp'
-- or 'udp'; client: '', 'native' or 'libav' (the API validates).
ALTER TABLE cameras ADD COLUMN transport TEXT NOT NULL DEFAULT '';
ALTER TABLE cameras ADD COLUMN client TEXT NOT NULL DEFAULT '';
