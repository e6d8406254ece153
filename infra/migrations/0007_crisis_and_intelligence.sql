-- Crisis detection, the Alert Center and the Intelligence Hub.
--
-- Decisions (see warroom/crisis/__init__.py and warroom/intelligence/__init__.py):
-- * An alert is a `crisis_events` row (the seed's table). A detected crisis has a subject -- the rollup
--   dimension and value it was found on ('all' / '', 'source' / 'reddit', 'topic' / ..., 'keyword' / ...);
--   a manual one (POST /alerts, or any row written without a kind, as the seed's code does) is 'manual'.
-- * At most one open (active or acknowledged) detected crisis per subject: the partial unique index makes
--   "update the open one instead of opening another" hold under concurrent detectors too.
-- * Every status or severity change is a row in `crisis_event_changes` (the timeline: who, when, what).
-- * Notification subscriptions are per user and channel; alerts mail managers and admins only.
-- * A daily brief is one `reports` row per campaign day (report_date in the campaign's time zone).

ALTER TABLE crisis_events
    ADD COLUMN kind              VARCHAR(10) NOT NULL DEFAULT 'manual' CHECK (kind IN ('detected', 'manual')),
    ADD COLUMN subject_dimension VARCHAR(16),
    ADD COLUMN subject_value     VARCHAR(200),
    ADD COLUMN title             VARCHAR(300),
    ADD COLUMN last_evidence_at  TIMESTAMPTZ,
    ADD COLUMN updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN acknowledged_at   TIMESTAMPTZ,
    ADD COLUMN acknowledged_by   UUID REFERENCES users(id),
    ADD COLUMN resolved_by       UUID REFERENCES users(id),
    ADD CONSTRAINT crisis_events_detected_has_subject
        CHECK (kind = 'manual' OR (subject_dimension IS NOT NULL AND subject_value IS NOT NULL));

CREATE UNIQUE INDEX crisis_events_one_open_per_subject ON crisis_events (subject_dimension, subject_value)
    WHERE status <> 'resolved' AND kind = 'detected';
CREATE INDEX idx_crisis_events_subject_resolved ON crisis_events (subject_dimension, subject_value, resolved_at DESC);
CREATE INDEX idx_crisis_events_detected ON crisis_events (detected_at DESC, id DESC);

CREATE TABLE crisis_event_changes (
    id              BIGSERIAL PRIMARY KEY,
    crisis_event_id UUID NOT NULL REFERENCES crisis_events(id) ON DELETE CASCADE,
    change          VARCHAR(20) NOT NULL CHECK (change IN ('detected', 'created', 'updated', 'acknowledged', 'resolved')),
    status          VARCHAR(20) NOT NULL,
    severity        INTEGER,
    changed_by      UUID REFERENCES users(id),
    changed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    note            TEXT
);
CREATE INDEX idx_crisis_event_changes_event ON crisis_event_changes (crisis_event_id, changed_at, id);

CREATE TABLE notification_subscriptions (
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel    VARCHAR(20) NOT NULL CHECK (channel IN ('alerts', 'daily_brief')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel)
);

ALTER TABLE reports ADD COLUMN report_date DATE;
CREATE UNIQUE INDEX reports_one_per_type_and_day ON reports (report_type, report_date) WHERE report_date IS NOT NULL;
CREATE INDEX idx_reports_type_generated ON reports (report_type, generated_at DESC);

-- Every OpenAI call's token usage (cost control); cached answers are recorded with cached = true.
CREATE TABLE ai_usage (
    id                BIGSERIAL PRIMARY KEY,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    purpose           VARCHAR(40) NOT NULL,
    model             VARCHAR(100) NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens      INTEGER NOT NULL DEFAULT 0,
    cached            BOOLEAN NOT NULL DEFAULT false,
    user_id           UUID REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX idx_ai_usage_created ON ai_usage (created_at DESC);
