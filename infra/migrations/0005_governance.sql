-- Governance: API keys for external tools, and the audit log made append-only and tamper-evident.

-- API keys: the key itself is shown once at creation; only its SHA-256 is stored (a lookup by an indexed
-- equality on the hash is the comparison). `prefix` is random, unique and shown in lists so people can tell
-- their keys apart without the secret.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name         VARCHAR(100) NOT NULL,
    prefix       VARCHAR(16) NOT NULL UNIQUE,
    key_hash     CHAR(64) NOT NULL UNIQUE,
    role         VARCHAR(50) NOT NULL CHECK (role IN ('readonly', 'user', 'manager', 'admin')),
    created_by   UUID NOT NULL REFERENCES users(id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX idx_api_keys_created ON api_keys (created_at DESC, id DESC);
CREATE INDEX idx_api_keys_created_by ON api_keys (created_by);

-- Row-level audit of key changes (audit_trigger() strips key_hash). Not on last_used_at: it is touched
-- at most once a minute per key in use, and is bookkeeping, not a change anyone made.
CREATE TRIGGER api_keys_audit AFTER INSERT OR DELETE OR UPDATE OF name, prefix, key_hash, role, created_by,
    expires_at, revoked_at ON api_keys
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();

-- The audit log as a hash chain: each row carries a strict sequence number, the previous row's hash and
-- its own hash = sha256(prev_hash || canonical content). Editing, deleting or inserting a row in the middle
-- breaks the chain at that row (GET /audit/verify finds it). The content is a jsonb array, whose text form
-- is canonical; the timestamp is written in UTC with a fixed format, so the session's TimeZone cannot
-- change a hash.
ALTER TABLE audit_logs
    ADD COLUMN seq       BIGINT,
    ADD COLUMN prev_hash CHAR(64),
    ADD COLUMN hash      CHAR(64);

CREATE OR REPLACE FUNCTION audit_row_hash(
    prev_hash TEXT, id UUID, seq BIGINT, user_id UUID, action TEXT, resource_type TEXT, resource_id TEXT,
    details JSONB, ip_address INET, user_agent TEXT, logged_at TIMESTAMPTZ
) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(prev_hash || jsonb_build_array(
        id::text, seq, user_id::text, action, resource_type, resource_id, details, ip_address::text, user_agent,
        to_char(logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    )::text, 'UTF8')), 'hex')
$$;

-- Back-fill the chain over the rows written before this migration, oldest first.
DO $$
DECLARE
    r         RECORD;
    previous  TEXT := repeat('0', 64);
    n         BIGINT := 0;
BEGIN
    FOR r IN SELECT * FROM audit_logs ORDER BY timestamp, id LOOP
        n := n + 1;
        UPDATE audit_logs
           SET seq = n,
               prev_hash = previous,
               hash = audit_row_hash(previous, r.id, n, r.user_id, r.action, r.resource_type, r.resource_id,
                                     r.details, r.ip_address, r.user_agent, r.timestamp)
         WHERE id = r.id
        RETURNING hash INTO previous;
    END LOOP;
END
$$;

ALTER TABLE audit_logs
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    -- A second writer that somehow missed the lock (e.g. a REPEATABLE READ transaction, whose snapshot
    -- predates the last row) fails here instead of forking the chain.
    ADD CONSTRAINT audit_logs_seq_key UNIQUE (seq);
CREATE INDEX idx_audit_logs_action ON audit_logs (action, seq DESC);

-- Appending: a transaction-level advisory lock serialises writers until they commit, so the row read as
-- "last" is the last committed one and sequence numbers never repeat. The lock is held until commit:
-- keep transactions that write audit rows short. Whatever the caller sends, seq and hashes are set here.
CREATE OR REPLACE FUNCTION audit_chain_append()
RETURNS TRIGGER AS $$
DECLARE
    last_seq  BIGINT;
    last_hash TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(1096107092);  -- 0x41554454, "AUDT": any constant shared by every writer
    SELECT seq, hash INTO last_seq, last_hash FROM audit_logs ORDER BY seq DESC LIMIT 1;
    NEW.seq := COALESCE(last_seq, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, repeat('0', 64));
    NEW.hash := audit_row_hash(NEW.prev_hash, NEW.id, NEW.seq, NEW.user_id, NEW.action, NEW.resource_type,
                               NEW.resource_id, NEW.details, NEW.ip_address, NEW.user_agent, NEW.timestamp);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_logs_chain BEFORE INSERT ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append();

-- Append-only: UPDATE and DELETE are refused. There is deliberately no BEFORE TRUNCATE trigger: the test
-- harness empties every table with TRUNCATE between tests (the application never truncates). The table's
-- owner or a superuser can still disable these triggers; the hash chain is what makes such an edit visible.
CREATE OR REPLACE FUNCTION audit_logs_refuse_change()
RETURNS TRIGGER AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
