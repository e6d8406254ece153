-- Identity: login sessions with rotating refresh tokens (reuse detection by family), MFA and
-- password bookkeeping on users. Tokens are stored only as SHA-256 hashes.

ALTER TABLE users
    ADD COLUMN mfa_secret          TEXT,
    ADD COLUMN mfa_enabled_at      TIMESTAMPTZ,
    ADD COLUMN password_changed_at TIMESTAMPTZ;

-- One row per login: the refresh tokens of a session form one family; replaying a rotated token
-- revokes the session (token theft).
CREATE TABLE user_sessions (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        UUID NOT NULL REFERENCES users(id),
    user_agent     TEXT,
    ip_address     INET,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason VARCHAR(50)
);
CREATE INDEX idx_user_sessions_user ON user_sessions (user_id, created_at DESC);
CREATE INDEX idx_user_sessions_active ON user_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id  UUID NOT NULL REFERENCES user_sessions(id) ON DELETE CASCADE,
    token_hash  CHAR(64) NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ,
    replaced_by UUID REFERENCES refresh_tokens(id)
);
CREATE INDEX idx_refresh_tokens_session ON refresh_tokens (session_id);

CREATE TRIGGER user_sessions_audit AFTER INSERT OR UPDATE OR DELETE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
