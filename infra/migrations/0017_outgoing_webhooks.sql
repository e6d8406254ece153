-- Outgoing webhooks (warroom.webhooks): admins subscribe URLs to broadcast events; each event becomes one
-- delivery per matching subscription, attempted until it succeeds or has used up its attempts (about a day).
--
-- The signing secret ("whsec_<base64>") is shown once, at creation, and stored only encrypted (Fernet under a
-- key derived from the token signing key, as the MFA secrets are): the signer needs it in the clear at every
-- attempt, so a hash would not do. No row trigger here: audit_trigger() would copy the ciphertext into the
-- audit trail; every change is recorded explicitly by the layer instead (webhook.create, .update, .delete,
-- .disabled, .failing).
CREATE TABLE webhook_subscriptions (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    url               TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description       TEXT CHECK (length(description) <= 200),
    events            TEXT[] NOT NULL CHECK (cardinality(events) >= 1),
    secret_ciphertext TEXT NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    -- ok: delivering; failing: a delivery used up its attempts (cleared by the next success or re-enabling);
    -- gone: the receiver answered 410 and the subscription was disabled.
    state             TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'failing', 'gone')),
    created_by        UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_success_at   TIMESTAMPTZ,
    last_failure_at   TIMESTAMPTZ
);

CREATE INDEX idx_webhook_subscriptions_created ON webhook_subscriptions (created_at DESC, id DESC);
CREATE INDEX idx_webhook_subscriptions_events ON webhook_subscriptions USING gin (events) WHERE enabled;

CREATE TRIGGER webhook_subscriptions_touch BEFORE UPDATE ON webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- One row per (subscription, event): its body is fixed at creation so every attempt sends the same bytes under
-- the same webhook-id. next_attempt_at is when the sweep hands it to the queue again: the scheduled retry, or a
-- lease while an attempt message is in flight (a lost message is re-sent once the lease passes).
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id UUID NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- The broadcast's own id (from its queue message): a message SQS delivers twice makes one delivery.
    event_id        UUID NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'abandoned')),
    attempt_count   INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    response_code   INTEGER,
    last_error      TEXT CHECK (length(last_error) <= 500),
    next_attempt_at TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, event_id)
);

CREATE INDEX idx_webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying');
