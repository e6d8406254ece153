-- Reports, their exports and scheduled reports (issue 15; see warroom/reports/__init__.py).
--
-- * A report is a `reports` row (the seed's table): `report_type`, `generated_data` (one documented JSON schema
--   per type), who made it and when. What it was asked for (`parameters`) and a `title` are kept beside it.
-- * A scheduled report records its schedule and the start of the period it covers: the partial unique index makes
--   "one report per schedule and period" hold however often (or concurrently) the schedule runs.
-- * An export too large to answer directly is a job: queued, run by the export consumer, its file in S3.

ALTER TABLE reports
    ADD COLUMN title        VARCHAR(300),
    ADD COLUMN parameters   JSONB NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN schedule_id  UUID,
    ADD COLUMN period_start TIMESTAMPTZ;

CREATE INDEX idx_reports_generated ON reports (generated_at DESC, id DESC);
CREATE INDEX idx_reports_author_generated ON reports (generated_by, generated_at DESC, id DESC);

CREATE TABLE report_schedules (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    report_type   VARCHAR(40) NOT NULL,
    frequency     VARCHAR(10) NOT NULL CHECK (frequency IN ('daily', 'weekly')),
    weekday       SMALLINT CHECK (weekday BETWEEN 0 AND 6),
    hour          SMALLINT NOT NULL CHECK (hour BETWEEN 0 AND 23),
    parameters    JSONB NOT NULL DEFAULT '{}'::jsonb,
    subscriber_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_run_at   TIMESTAMPTZ,
    CONSTRAINT report_schedules_weekly_has_day CHECK ((frequency = 'weekly') = (weekday IS NOT NULL))
);
CREATE INDEX idx_report_schedules_subscriber ON report_schedules (subscriber_id, created_at DESC, id DESC);
CREATE TRIGGER report_schedules_audit AFTER INSERT OR UPDATE OR DELETE ON report_schedules
    FOR EACH ROW EXECUTE FUNCTION audit_trigger();

ALTER TABLE reports
    ADD CONSTRAINT reports_schedule_fk FOREIGN KEY (schedule_id) REFERENCES report_schedules(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX reports_one_per_schedule_period ON reports (schedule_id, period_start)
    WHERE schedule_id IS NOT NULL;

CREATE TABLE report_export_jobs (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    requested_by UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    format       VARCHAR(4) NOT NULL CHECK (format IN ('csv', 'pdf', 'json')),
    request      JSONB NOT NULL,
    status       VARCHAR(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows         INTEGER,
    bytes        BIGINT,
    filename     VARCHAR(200),
    s3_key       VARCHAR(500),
    error        TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX idx_report_export_jobs_requester ON report_export_jobs (requested_by, created_at DESC);
