-- 0014: per-camera TLS certificate verification (docs/design/0033-rtsps.md).
-- An rtsps:// camera's certificate is verified unless its row says 0: the
-- escape hatch for a camera with a self-signed certificate. Existing rows
-- verify.
ALTER TABLE cameras ADD COLUMN tls_verify INTEGER NOT NULL DEFAULT 1;
