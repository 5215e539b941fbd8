-- 0008: TOTP second factor (docs/design/0023-mfa.md). One row per user who
-- began enrolling: the shared secret in its stored form (today "b32:" and
-- the base32 text; auth_mfa_secret_seal/_open in src/auth/auth_mfa.c are
-- the only code that writes or reads it, so sealing it at rest changes one
-- function pair), whether the user confirmed it, and the TOTP step of the
-- last code accepted, so a code is refused on replay also after a restart.
-- Recovery codes are kept as SHA-256 hex only, one row each, deleted when
-- used.
CREATE TABLE user_mfa (
    user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enrolled INTEGER NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT -1,
    created_at_ms BIGINT NOT NULL,
    enrolled_at_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE mfa_recovery_codes (
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    code_sha256 TEXT NOT NULL,
    PRIMARY KEY (user_name, code_sha256)
);
