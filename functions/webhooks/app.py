"""Incoming webhooks: signed calls from Meta and Standard Webhooks senders, and Meta's subscription handshake.

Public routes (no token or key): each call is authenticated by its signature instead (warroom.webhooks.incoming).
"""

from __future__ import annotations

from chalice import Response

from warroom.core.http import RequestContext, WarRoomApp
from warroom.webhooks.incoming import answer_meta_verification, receive
from warroom.webhooks.incoming_models import MetaVerificationQuery, WebhookReceiptOut

app = WarRoomApp("webhooks")

# 400 malformed payload (after a valid signature), 401 signature, 404 unknown service, 413 too large, 429 past the
# rejections per address, 503 the database or the queue.
RECEIVE_ERRORS = (400, 401, 404, 413, 429, 503)


@app.endpoint("POST", "/api/v1/webhooks/{service}", role=None, response=WebhookReceiptOut, errors=RECEIVE_ERRORS)
def receive_webhook(service: str, raw_body: bytes, ctx: RequestContext) -> WebhookReceiptOut:
    """Receive a signed webhook from a configured Standard Webhooks sender.

    Signed with `webhook-id`, `webhook-timestamp` and `webhook-signature` (5-minute tolerance); the body is the
    `{type, timestamp, data}` envelope (type `mentions`). Stored once per `webhook-id`, processed from a queue.
    """
    return receive(service, raw_body, ctx.headers, ctx.source_ip)


@app.endpoint("POST", "/api/v1/webhooks/meta", role=None, response=WebhookReceiptOut, errors=RECEIVE_ERRORS)
def receive_meta_webhook(raw_body: bytes, ctx: RequestContext) -> WebhookReceiptOut:
    """Receive a change notification from Meta, signed with the app secret (`X-Hub-Signature-256`).

    Its own route because API Gateway prefers the literal `/webhooks/meta` of the handshake to `{service}`.
    """
    return receive("meta", raw_body, ctx.headers, ctx.source_ip)


@app.endpoint(
    "GET",
    "/api/v1/webhooks/meta",
    role=None,
    query=MetaVerificationQuery,
    content_type="text/plain",
    errors=(403, 429, 503),
)
def verify_meta_subscription(query: MetaVerificationQuery, ctx: RequestContext) -> Response:
    """Answer Meta's subscription handshake.

    `hub.challenge` comes back as plain text when `hub.mode` is `subscribe` and `hub.verify_token` is the
    configured token; anything else is 403.
    """
    challenge = answer_meta_verification(query, ctx.source_ip)
    return Response(body=challenge, headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})
