-- Incoming webhooks: one receipt per accepted delivery, so each event is processed once (warroom/webhooks/incoming.py).
--
-- Decisions:
-- * A receipt is keyed by (service, event_id): Standard Webhooks' `webhook-id`, or for Meta (which sends no
--   delivery id) the SHA-256 of the payload's canonical JSON. A duplicate delivery finds the key and is not
--   enqueued again; only a receipt never handed to the queue (`enqueued_at` NULL: the queue failed) is.
-- * Status: `received` (stored, queued), `processing` (claimed by a consumer until `claimed_until`: a consumer
--   that died mid-way is taken over once its claim runs out), then `processed`, `ignored` (nothing to do for
--   it, e.g. a Meta field we do not act on) or `failed` (a payload that cannot be processed; never retried).
-- * Rejected calls store nothing here: only their audit entry (service, reason, source address).
-- * Mentions that arrive by webhook are stored under provider `webhook`, external id `<service>:<id>`.

CREATE TABLE webhook_receipts (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    service       VARCHAR(64) NOT NULL,
    event_id      VARCHAR(200) NOT NULL,
    event_type    VARCHAR(100) NOT NULL,
    payload       JSONB NOT NULL,
    source_ip     INET,
    status        VARCHAR(20) NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'processing', 'processed', 'ignored', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    outcome       JSONB,
    error         VARCHAR(500),
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    enqueued_at   TIMESTAMPTZ,
    claimed_until TIMESTAMPTZ,
    processed_at  TIMESTAMPTZ,
    CONSTRAINT webhook_receipts_service_event_key UNIQUE (service, event_id)
);
CREATE INDEX idx_webhook_receipts_received ON webhook_receipts (received_at DESC);

ALTER TABLE mentions DROP CONSTRAINT mentions_provider_check;
ALTER TABLE mentions ADD CONSTRAINT mentions_provider_check CHECK (provider IN ('mock', 'mentionlytics', 'webhook'));
