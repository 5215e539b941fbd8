-- 0010: how each browser session was opened (docs/design/0023-mfa.md):
-- 'password' (POST /auth/login) or 'sso' (the OIDC callback). auth.mfa
-- obliges password sessions only (the identity provider does the second
-- factor of an SSO login), and this must survive a restart, so it is
-- stored with the session rather than remembered in memory.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
