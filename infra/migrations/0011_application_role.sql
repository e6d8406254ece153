-- The functions act as `warroom_app`, a role that owns no table: it may read and write rows, never change the
-- schema, truncate, or alter triggers, and on `audit_logs` it may only read and append. The pool switches to it
-- on connect (`WARROOM_DB_ROLE`, libpq option `-c role=...`), so the login in DATABASE_URL only needs to be a
-- member of it (README: "Database roles"). Whoever runs the migrations keeps ownership.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'warroom_app') THEN
        CREATE ROLE warroom_app NOLOGIN;
    END IF;
END
$$;
GRANT warroom_app TO CURRENT_USER;

GRANT USAGE ON SCHEMA public TO warroom_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO warroom_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO warroom_app;
REVOKE ALL ON schema_migrations FROM warroom_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM warroom_app;
-- Tables and sequences that later migrations create get the same grants (they revoke what must not be).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO warroom_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO warroom_app;

-- TRUNCATE skips row triggers, so it gets a statement trigger of its own: refused unless the session says, on
-- purpose, that it is the test harness or a DBA emptying the table (`SET warroom.allow_audit_truncate = on`).
-- The application role cannot TRUNCATE at all (no privilege); this stops an owner's slip.
CREATE OR REPLACE FUNCTION audit_logs_refuse_truncate()
RETURNS TRIGGER AS $$
BEGIN
    IF coalesce(current_setting('warroom.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_logs is append-only: TRUNCATE is not allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_truncate();
