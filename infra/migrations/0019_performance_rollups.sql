-- API metrics: per-minute, 10-minute and hour rollups of performance_logs, so /metrics/api over a day sums about
-- fifty rows per endpoint instead of ranking millions; and the last run of every scheduled job, for /metrics/system.

-- A commit-ordered sequence number on the raw rows: the rollup's watermark. Every insert takes a transaction
-- advisory lock first (a statement trigger, so every writer does, the batched perf flusher included), so a row
-- with a lower seq is always committed (or rolled back) before one with a higher seq becomes visible: nothing
-- at or below the highest visible seq can still appear, and "seq <= watermark" is exactly "rolled up".
ALTER TABLE performance_logs ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX idx_performance_logs_seq ON performance_logs (seq);

CREATE FUNCTION performance_logs_insert_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('warroom.performance_logs.insert'));
    RETURN NULL;
END;
$$;
CREATE TRIGGER performance_logs_insert_lock BEFORE INSERT ON performance_logs
    FOR EACH STATEMENT EXECUTE FUNCTION performance_logs_insert_lock();

-- One row per (resolution, bucket start, service, endpoint). The latency histogram is sparse: counts[k] requests
-- had a response_time_ms in bucket buckets[k] of warroom.metrics.histogram.BOUNDS (width_bucket's numbering;
-- ascending, only buckets that hold any), so any period's percentiles come from adding histograms. requests
-- counts every row, timed only those with a response time (the histogram's total).
CREATE TABLE performance_rollups (
    resolution   VARCHAR(6)   NOT NULL CHECK (resolution IN ('minute', '10min', 'hour')),
    bucket_start TIMESTAMPTZ  NOT NULL,
    service_name VARCHAR(100) NOT NULL,
    endpoint     VARCHAR(200) NOT NULL,
    requests     BIGINT       NOT NULL,
    timed        BIGINT       NOT NULL,
    errors_4xx   BIGINT       NOT NULL,
    errors_5xx   BIGINT       NOT NULL,
    sum_ms       BIGINT       NOT NULL,
    min_ms       INTEGER,
    max_ms       INTEGER,
    buckets      SMALLINT[]   NOT NULL,
    counts       INTEGER[]    NOT NULL,
    PRIMARY KEY (resolution, bucket_start, service_name, endpoint)
);

-- The rollup's watermark: every performance_logs row with seq <= processed_seq is in the rollups.
CREATE TABLE performance_rollup_state (
    id            SMALLINT PRIMARY KEY CHECK (id = 1),
    processed_seq BIGINT      NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The last run of each scheduled job (warroom.core.job_runs).
CREATE TABLE job_runs (
    job             VARCHAR(100) PRIMARY KEY,
    started_at      TIMESTAMPTZ  NOT NULL,
    finished_at     TIMESTAMPTZ  NOT NULL,
    duration_ms     DOUBLE PRECISION NOT NULL,
    outcome         VARCHAR(10)  NOT NULL CHECK (outcome IN ('ok', 'failed')),
    error           TEXT,
    last_success_at TIMESTAMPTZ,
    runs            BIGINT       NOT NULL DEFAULT 1,
    failures        BIGINT       NOT NULL DEFAULT 0
);

-- The dependency states the metrics job last saw, to broadcast system:health-change only on a change.
CREATE TABLE system_health_state (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    states     JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
