"""Webhooks, both directions: signed calls we receive, and signed, retried deliveries we send.

**Incoming** (``POST /api/v1/webhooks/{service}``, ``GET /api/v1/webhooks/meta``; modules ``incoming*``): Meta's
``X-Hub-Signature-256`` and Standard Webhooks senders, the signature checked in constant time over the raw
body, accepted payloads stored once per event id and queued for the matching pipeline. See
:mod:`warroom.webhooks.incoming`.

**Outgoing** (``/api/v1/admin/webhooks``; modules ``subscriptions``, ``delivery``, ``transport``,
``outgoing_models``): admins subscribe URLs to broadcast events (``warroom.realtime.WEBHOOK_EVENTS``); every
such broadcast is handed to ``WebhookDeliveryQueue`` and delivered to each enabled subscription that wants it,
signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64
HMAC-SHA256 of "id.timestamp.body">`` with a ``whsec_`` secret), retried with backoff for about a day, then
parked in the DLQ with the subscription marked failing and admins alerted. The transport cannot be turned
against the network the server runs in (https only when deployed, every resolved address public, the request
sent to the checked address). See :mod:`warroom.webhooks.subscriptions`, :mod:`warroom.webhooks.delivery` and
:mod:`warroom.webhooks.transport`.

Nothing is imported here: each side is used through its own modules, and neither loads the other's.
"""
