-- Social listening: the seed's `mentions` table made fit for real ingest, its rollups and the ingest cursors.
--
-- Decisions (see warroom/mentions/__init__.py):
-- * (provider, external_id) is unique: a replayed page or a re-delivered batch inserts nothing.
-- * published_at is the mention's own time; every time filter and rollup uses it, never created_at.
-- * sentiment_score is widened from DECIMAL(3,2) to NUMERIC(4,3): three decimals keep VADER's resolution,
--   and NUMERIC sums are exact, so rollup sums equal the raw aggregates to the last digit.
-- * Typed author / geo / engagement columns are the source of truth (indexed, filterable); the seed's
--   `location` and `influencer_data` JSONB columns stay for compatibility and are left NULL by ingest.
-- * Sentiment bands: negative < -0.3, strongly negative < -0.8 (the seed's crisis rule), positive > 0.3.

ALTER TABLE mentions
    ADD COLUMN provider          VARCHAR(20) NOT NULL DEFAULT 'mock' CHECK (provider IN ('mock', 'mentionlytics')),
    ADD COLUMN external_id       VARCHAR(200) NOT NULL DEFAULT gen_random_uuid()::text,
    ADD COLUMN published_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN url               TEXT,
    ADD COLUMN language          VARCHAR(12),
    ADD COLUMN author_name       VARCHAR(300),
    ADD COLUMN author_handle     VARCHAR(300),
    ADD COLUMN author_followers  BIGINT CHECK (author_followers >= 0),
    -- 0..100, higher is more influential (Mentionlytics' mRank is mapped onto it).
    ADD COLUMN author_influence  REAL CHECK (author_influence BETWEEN 0 AND 100),
    ADD COLUMN country           VARCHAR(2),
    ADD COLUMN region            VARCHAR(120),
    ADD COLUMN city              VARCHAR(120),
    ADD COLUMN latitude          DOUBLE PRECISION CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN longitude         DOUBLE PRECISION CHECK (longitude BETWEEN -180 AND 180),
    ADD COLUMN likes             BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN shares            BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN comments          BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN reach             BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN topics            TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN keywords          TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN content_tsv       TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', coalesce(content, ''))) STORED,
    ALTER COLUMN sentiment_score TYPE NUMERIC(4,3);

ALTER TABLE mentions ALTER COLUMN external_id DROP DEFAULT;
ALTER TABLE mentions ADD CONSTRAINT mentions_provider_external_id_key UNIQUE (provider, external_id);

-- The stored tsvector replaces the seed's expression index; created_at is not what anyone filters on.
DROP INDEX IF EXISTS idx_mentions_content_search;
DROP INDEX IF EXISTS idx_mentions_created_at;
CREATE INDEX idx_mentions_published ON mentions (published_at DESC, id DESC);
CREATE INDEX idx_mentions_source_published ON mentions (source, published_at DESC);
CREATE INDEX idx_mentions_country_published ON mentions (country, published_at DESC);
CREATE INDEX idx_mentions_topics ON mentions USING GIN (topics);
CREATE INDEX idx_mentions_content_tsv ON mentions USING GIN (content_tsv);

-- Rollups: one row per (dimension, value, bucket). Dimensions: 'all' (value ''), 'source', 'topic',
-- 'keyword', 'country', 'region' (value 'CC/Region'). A mention with two topics counts once under each.
-- sentiment_count counts the scored mentions, so sentiment_sum / sentiment_count is the average sentiment.
CREATE TABLE mention_rollups_minute (
    dimension         VARCHAR(16) NOT NULL,
    value             VARCHAR(200) NOT NULL,
    bucket            TIMESTAMPTZ NOT NULL,
    mentions          INTEGER NOT NULL DEFAULT 0,
    sentiment_sum     NUMERIC NOT NULL DEFAULT 0,
    sentiment_count   INTEGER NOT NULL DEFAULT 0,
    positive          INTEGER NOT NULL DEFAULT 0,
    negative          INTEGER NOT NULL DEFAULT 0,
    strongly_negative INTEGER NOT NULL DEFAULT 0,
    reach             BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, value, bucket)
);
CREATE INDEX idx_mention_rollups_minute_bucket ON mention_rollups_minute (dimension, bucket);

CREATE TABLE mention_rollups_hour (LIKE mention_rollups_minute INCLUDING ALL);

-- Where each source's sync got to, per provider and project (Mentionlytics: a date and a page to resume at).
CREATE TABLE ingest_cursors (
    provider   VARCHAR(20) NOT NULL,
    project    VARCHAR(100) NOT NULL,
    cursor     JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, project)
);
