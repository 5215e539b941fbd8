-- 0029: RTSP Digest secrets of the re-stream (docs/design/0077): HA1 = MD5(name:realm:password)
-- of a user or an API key, sealed by the secret box; NULL while none was kept.
ALTER TABLE users ADD COLUMN rtsp_digest TEXT;
ALTER TABLE api_keys ADD COLUMN rtsp_digest TEXT;
