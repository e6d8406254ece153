-- The second step of a login spends its MFA token here, atomically, before the code is checked: two
-- concurrent /auth/mfa/verify calls with one token can no longer both open a session, and spending does
-- not depend on Redis. Rows are kept until the token would have expired anyway (the retention job prunes).
CREATE TABLE spent_mfa_tokens (
    jti        VARCHAR(64) PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id),
    spent_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX idx_spent_mfa_tokens_expiry ON spent_mfa_tokens (expires_at);
