-- Paid campaigns (Meta, Google Ads): typed campaigns and one row per campaign per day, and campaign alerts.
--
-- Decisions (see warroom/campaigns/__init__.py):
-- * `campaigns` holds what the platform says of a campaign; `campaign_days` one row per campaign and day with
--   typed columns and the campaign's running totals through that day (a period is two index look-ups). Money is NUMERIC in the account's currency (Google's micros divide exactly into 6 decimals),
--   never a float. ctr, cpc, cpm and cpa are derived from the sums when read, never stored or averaged.
-- * A re-synced day replaces the stored one (platforms restate recent days): the primary key makes the upsert
--   idempotent on (platform, external id, date) through the campaign's unique (platform, external_id).
-- * The seed's `campaign_data` (platform, campaign id, date, JSONB metrics) keeps its meaning: every synced
--   day is mirrored there with the figures and the vendor's raw row, one row per (platform, campaign, date).
--   Nothing reads figures from it any more; it is the raw record (and the shape the benchmark compares with).
--   Its platform is the seed's vocabulary ('meta', 'google'); everywhere else Google is 'google_ads'.
-- * Campaign alerts are `crisis_events` of kind 'campaign', subject ('campaign', '<campaign id>:<reason>'),
--   one open per campaign and reason (partial unique index), in the same lifecycle as every other alert.

CREATE TABLE campaigns (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    platform              VARCHAR(20) NOT NULL CHECK (platform IN ('meta', 'google_ads')),
    external_id           VARCHAR(64) NOT NULL,
    account_id            VARCHAR(64) NOT NULL,
    name                  VARCHAR(500) NOT NULL,
    objective             VARCHAR(64),
    status                VARCHAR(32),
    effective_status      VARCHAR(32),
    daily_budget          NUMERIC(18, 6),
    lifetime_budget       NUMERIC(18, 6),
    currency              CHAR(3),
    start_time            TIMESTAMPTZ,
    stop_time             TIMESTAMPTZ,
    special_ad_categories TEXT[] NOT NULL DEFAULT '{}',
    first_synced_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    synced_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (platform, external_id)
);
CREATE INDEX idx_campaigns_listing ON campaigns (platform, status, id);

CREATE TABLE campaign_days (
    campaign_id UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    day         DATE NOT NULL,
    impressions BIGINT NOT NULL DEFAULT 0 CHECK (impressions >= 0),
    reach       BIGINT CHECK (reach >= 0),
    clicks      BIGINT NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    spend       NUMERIC(18, 6) NOT NULL DEFAULT 0 CHECK (spend >= 0),
    conversions NUMERIC(18, 6),
    -- Running totals of the campaign through this day (conversions: missing ones as 0), kept by the upsert: any
    -- period's totals are two look-ups per campaign (through `to`, minus through the day before `from`).
    cum_impressions BIGINT NOT NULL DEFAULT 0,
    cum_clicks      BIGINT NOT NULL DEFAULT 0,
    cum_spend       NUMERIC(20, 6) NOT NULL DEFAULT 0,
    cum_conversions NUMERIC(20, 6) NOT NULL DEFAULT 0,
    synced_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The look-ups read the key's index alone, without touching the table.
    PRIMARY KEY (campaign_id, day) INCLUDE (cum_impressions, cum_clicks, cum_spend, cum_conversions)
);
CREATE INDEX idx_campaign_days_day ON campaign_days (day);

CREATE TABLE campaign_ad_sets (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id       UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    external_id       VARCHAR(64) NOT NULL,
    name              VARCHAR(500) NOT NULL,
    status            VARCHAR(32),
    effective_status  VARCHAR(32),
    optimization_goal VARCHAR(64),
    billing_event     VARCHAR(64),
    daily_budget      NUMERIC(18, 6),
    lifetime_budget   NUMERIC(18, 6),
    start_time        TIMESTAMPTZ,
    end_time          TIMESTAMPTZ,
    synced_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, external_id)
);

-- The raw mirror: one row per platform, campaign and day, so a re-sync replaces rather than adds. Rows the seed's
-- shape may already hold twice keep the newest.
DELETE FROM campaign_data AS older USING campaign_data AS newer
    WHERE older.platform = newer.platform AND older.campaign_id = newer.campaign_id
      AND older.date_recorded = newer.date_recorded
      AND (older.created_at, older.id) < (newer.created_at, newer.id);
CREATE UNIQUE INDEX campaign_data_one_per_day ON campaign_data (platform, campaign_id, date_recorded);
ALTER TABLE campaign_data ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

ALTER TABLE crisis_events DROP CONSTRAINT crisis_events_kind_check;
ALTER TABLE crisis_events ADD CONSTRAINT crisis_events_kind_check CHECK (kind IN ('detected', 'manual', 'campaign'));
CREATE UNIQUE INDEX crisis_events_one_open_per_campaign_reason ON crisis_events (subject_dimension, subject_value)
    WHERE status <> 'resolved' AND kind = 'campaign';
