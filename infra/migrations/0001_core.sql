-- War Room core schema: the seed's tables (sections 3.1, 5.2, 7.1) plus settings.
-- Ids are gen_random_uuid() (built into PostgreSQL 13+); timestamps are timestamptz in UTC.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email             VARCHAR(255) NOT NULL,
    password_hash     VARCHAR(255) NOT NULL,
    role              VARCHAR(50) NOT NULL DEFAULT 'user'
                      CHECK (role IN ('readonly', 'user', 'manager', 'admin')),
    full_name         VARCHAR(200),
    status            VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    email_verified_at TIMESTAMPTZ,
    last_login_at     TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Emails are unique regardless of case: "Ana@x.org" and "ana@x.org" are one person.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE crisis_events (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    severity    INTEGER CHECK (severity >= 1 AND severity <= 10),
    status      VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'acknowledged', 'resolved')),
    detected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    metadata    JSONB,
    created_by  UUID REFERENCES users(id)
);

CREATE TABLE mentions (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    source          VARCHAR(100) NOT NULL,
    content         TEXT NOT NULL,
    sentiment_score DECIMAL(3,2) CHECK (sentiment_score BETWEEN -1 AND 1),
    location        JSONB,
    influencer_data JSONB,
    crisis_event_id UUID REFERENCES crisis_events(id),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata        JSONB
);

CREATE TABLE campaign_data (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    platform      VARCHAR(50) NOT NULL CHECK (platform IN ('meta', 'google', 'mentionlytics')),
    campaign_id   VARCHAR(255) NOT NULL,
    metrics       JSONB NOT NULL,
    date_recorded DATE NOT NULL DEFAULT CURRENT_DATE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    filename          VARCHAR(255) NOT NULL,
    file_path         VARCHAR(500) NOT NULL,
    ai_summary        TEXT,
    vector_embeddings VECTOR(1536),
    processed_at      TIMESTAMPTZ,
    uploaded_by       UUID REFERENCES users(id),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE reports (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    report_type    VARCHAR(100) NOT NULL,
    generated_data JSONB NOT NULL,
    generated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    generated_by   UUID REFERENCES users(id)
);

CREATE TABLE performance_logs (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    service_name     VARCHAR(100) NOT NULL,
    endpoint         VARCHAR(200) NOT NULL,
    response_time_ms INTEGER,
    status_code      INTEGER,
    timestamp        TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata         JSONB
);

CREATE TABLE audit_logs (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       UUID REFERENCES users(id),
    action        VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50) NOT NULL,
    resource_id   VARCHAR(255),
    details       JSONB,
    ip_address    INET,
    user_agent    TEXT,
    timestamp     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The durable copy of global settings (the data mode among them); Redis holds a cache of it.
CREATE TABLE settings (
    key        VARCHAR(100) PRIMARY KEY,
    value      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by UUID REFERENCES users(id)
);

-- Indexes of the seed (7.1) and the ones its queries need.
CREATE INDEX idx_mentions_created_at ON mentions (created_at DESC);
CREATE INDEX idx_campaign_data_date ON campaign_data (date_recorded DESC);
CREATE INDEX idx_performance_logs_timestamp ON performance_logs (timestamp DESC);
CREATE INDEX idx_performance_logs_endpoint ON performance_logs (service_name, endpoint, timestamp DESC);
CREATE INDEX idx_mentions_content_search ON mentions USING GIN (to_tsvector('english', content));
-- HNSW rather than the seed's ivfflat: it needs no training data, so it is right on an empty table.
CREATE INDEX idx_documents_vector_search ON documents USING hnsw (vector_embeddings vector_cosine_ops);
CREATE INDEX idx_mentions_crisis_event ON mentions (crisis_event_id);
CREATE INDEX idx_crisis_events_user ON crisis_events (created_by);
CREATE INDEX idx_crisis_events_status ON crisis_events (status, detected_at DESC);
CREATE INDEX idx_mentions_metadata ON mentions USING GIN (metadata);
CREATE INDEX idx_campaign_metrics ON campaign_data USING GIN (metrics);
CREATE INDEX idx_documents_uploaded_by ON documents (uploaded_by);
CREATE INDEX idx_reports_generated_by ON reports (generated_by);
CREATE INDEX idx_audit_logs_timestamp ON audit_logs (timestamp DESC);
CREATE INDEX idx_audit_logs_user ON audit_logs (user_id, timestamp DESC);
CREATE INDEX idx_audit_logs_resource ON audit_logs (resource_type, resource_id);

-- The seed's audit trigger, with two changes: secret columns never reach the log (a password hash
-- in an audit row is still a secret), and the acting user comes from the transaction's
-- `warroom.actor_id` setting when the application sets it (SET LOCAL), so row-level records say who.
CREATE OR REPLACE FUNCTION audit_trigger()
RETURNS TRIGGER AS $$
DECLARE
    old_row JSONB := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;
    new_row JSONB := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    secret_columns TEXT[] := ARRAY['password_hash', 'mfa_secret', 'token_hash', 'key_hash'];
    actor TEXT := NULLIF(current_setting('warroom.actor_id', true), '');
BEGIN
    INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details)
    VALUES (
        actor::uuid,
        TG_OP,
        TG_TABLE_NAME,
        COALESCE(new_row ->> 'id', old_row ->> 'id', new_row ->> 'key', old_row ->> 'key'),
        jsonb_build_object('old', old_row - secret_columns, 'new', new_row - secret_columns)
    );
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE TRIGGER settings_audit AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE TRIGGER crisis_events_audit AFTER INSERT OR UPDATE OR DELETE ON crisis_events
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE TRIGGER documents_audit AFTER INSERT OR UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();
CREATE TRIGGER reports_audit AFTER INSERT OR UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();

-- Keep updated_at honest without every UPDATE having to remember it.
CREATE OR REPLACE FUNCTION touch_updated_at()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER settings_touch BEFORE UPDATE ON settings FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
