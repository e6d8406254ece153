-- Retention: expired sessions, spent tokens and old request timings are pruned by RetentionFunction, which
-- audits each run as counts. Session rows keep their row-level audit for what people do (sign-in, refresh,
-- revoke: INSERT and UPDATE), but not for the pruning's DELETEs, which would add one audit row per
-- pruned session to the chain.
DROP TRIGGER user_sessions_audit ON user_sessions;
CREATE TRIGGER user_sessions_audit AFTER INSERT OR UPDATE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();

CREATE INDEX idx_user_sessions_expiry ON user_sessions (expires_at);
CREATE INDEX idx_email_tokens_expiry ON email_tokens (expires_at);
