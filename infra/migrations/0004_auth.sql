-- Identity, part 2 (the auth routes): single-use email tokens for address verification and password
-- reset, stored only as SHA-256 hashes, and the indexes the login lockout's PostgreSQL fallback reads.

CREATE TABLE email_tokens (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    VARCHAR(20) NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash CHAR(64) NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_email_tokens_user ON email_tokens (user_id, purpose) WHERE used_at IS NULL;

-- With Redis down, failed sign-ins are counted from the audit trail (warroom.auth.lockout): per account
-- (an HMAC of the email in details.account, never the email itself) and per source address.
CREATE INDEX idx_audit_logs_failed_account ON audit_logs ((details ->> 'account'), timestamp)
    WHERE action IN ('auth.login_failed', 'auth.password_check_failed');
CREATE INDEX idx_audit_logs_failed_ip ON audit_logs (ip_address, timestamp)
    WHERE action IN ('auth.login_failed', 'auth.password_check_failed');
