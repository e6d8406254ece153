"""Incoming webhooks: who may call ``POST /webhooks/{service}``, how a call is checked, stored once and queued.

Example
-------
>>> receive("meta", raw_body, headers, source_ip="203.0.113.9")
WebhookReceiptOut(status='accepted', event_id='sha256:5f2c...')
>>> answer_meta_verification(MetaVerificationQuery(hub_mode="subscribe", hub_verify_token="...", hub_challenge="42"))
'42'

**Services.** ``meta`` when ``META_APP_SECRET`` is set (Meta signs with the app secret); every other service is
a Standard Webhooks sender named in the secret ``INCOMING_WEBHOOK_SECRETS``, a JSON object
``{"<service>": "whsec_<base64 key>"}`` (names ``[a-z0-9][a-z0-9_-]{0,63}``, never ``meta``; an entry that is
not a usable secret is logged, without its value, and left out). Meta's handshake token is
``META_WEBHOOK_VERIFY_TOKEN``. All three live in the stack's secret, never in logs or answers.

**Checks, in this order** (so a caller without the secret learns nothing about what the body would do):

1. the service is configured, else 404 ``unknown_service``;
2. the body is at most ``webhook_max_body_bytes`` (1 MiB), else 413, before any of it is hashed or read;
3. the signature over the raw bytes, constant time (:mod:`.incoming_verify`): 401 ``signature_missing``,
   ``invalid_signature`` or ``stale_timestamp`` (Standard Webhooks' 5-minute tolerance);
4. only then the body: JSON, at most 32 levels deep, no NUL or control characters, and the service's shape
   (:mod:`.incoming_models`), else 400 ``malformed_payload`` with the field errors.

Each rejection writes one audit entry (``webhook.rejected``: the service, the reason and the source address;
nothing of the body or the headers) and counts in a moving window per source address; past
``webhook_rejections_per_ip_per_hour`` the rejections are answered 429 and no longer audited, so a flood of
forged calls cannot serialise every audited write behind the audit chain's lock. Correctly signed calls are
never counted or refused.

**Once only.** An accepted call is stored as a receipt keyed by ``(service, event id)``: Standard Webhooks'
``webhook-id`` (it is signed), and for Meta, which sends no delivery id, ``sha256:`` + the SHA-256 of the
payload's canonical JSON (a redelivery of the same notification is the same event). Its id goes onto
``WebhookInboxQueue`` and the answer is 200 at once (Meta wants one within seconds; the work happens in
``WebhookInboxFunction``, :mod:`warroom.pipelines.incoming_webhooks`). A duplicate answers 200 ``duplicate``
and is not queued again, unless its first enqueue had failed (SQS down: that call answered 503 and the
sender's retry enqueues it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from warroom.audit import record_audit
from warroom.core import ratelimit
from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import (
    BadRequest,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
)
from warroom.core.http import MAX_JSON_DEPTH
from warroom.core.settings import read_settings
from warroom.core.types import json_depth, unsafe_text_details
from warroom.webhooks.incoming_models import (
    MAX_EVENT_ID_CHARS,
    MentionsEvent,
    MetaNotification,
    MetaVerificationQuery,
    WebhookReceiptOut,
)
from warroom.webhooks.incoming_receipts import mark_enqueued, store_receipt
from warroom.webhooks.incoming_settings import WEBHOOK_MAX_BODY_BYTES, WEBHOOK_REJECTIONS_PER_IP_PER_HOUR
from warroom.webhooks.incoming_verify import (
    META_SIGNATURE_HEADER,
    SignatureRejected,
    standard_secret_is_valid,
    verify_meta_signature,
    verify_standard_webhook,
)

logger = logging.getLogger(__name__)

META = "meta"
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Printable ASCII without spaces: what a sender's message id may be (it becomes a key and a log field).
_EVENT_ID = re.compile(rf"^[\x21-\x7e]{{1,{MAX_EVENT_ID_CHARS}}}$")
REJECTIONS_NAMESPACE = "webhook_rejections"
REJECTION_WINDOW_S = 3600
MAX_CHALLENGE_CHARS = 256
_local_rejections = ratelimit.LocalMovingWindow()


@dataclass(frozen=True)
class IncomingService:
    """A configured sender: its name, how it signs, and its secret (never logged)."""

    name: str
    scheme: Literal["meta", "standard"]
    secret: str = ""

    def __repr__(self) -> str:  # the secret stays out of every log line and traceback
        return f"IncomingService(name={self.name!r}, scheme={self.scheme!r})"


class UnknownService(NotFound):
    code, default_message = "unknown_service", "No webhook service of that name is configured."


class MalformedPayload(BadRequest):
    code, default_message = "malformed_payload", "The webhook's body is not a payload this service sends."


def configured_services() -> dict[str, IncomingService]:
    """The services that may call, from the secrets (see the module docstring)."""
    settings = get_settings()
    app_secret = settings.meta_app_secret.get_secret_value() if settings.meta_app_secret else ""
    listed = settings.incoming_webhook_secrets.get_secret_value() if settings.incoming_webhook_secrets else ""
    return _services_from(app_secret, listed)


@functools.lru_cache(maxsize=4)
def _services_from(app_secret: str, listed: str) -> dict[str, IncomingService]:
    """Parsed once per container and configuration (and a bad entry logged once, not on every call)."""
    services: dict[str, IncomingService] = {}
    if app_secret:
        services[META] = IncomingService(META, "meta", app_secret)
    if not listed:
        return services
    try:
        entries = json.loads(listed)
    except ValueError:
        entries = None
    if not isinstance(entries, dict):
        logger.error("INCOMING_WEBHOOK_SECRETS is not a JSON object of service names and secrets; it is ignored")
        return services
    for name, secret in entries.items():
        usable = isinstance(secret, str) and standard_secret_is_valid(secret)
        if name == META or not SERVICE_NAME.match(str(name)) or not usable:
            logger.error("INCOMING_WEBHOOK_SECRETS: service %r left out (a bad name, or not a whsec_ secret)", name)
            continue
        services[name] = IncomingService(name, "standard", secret)
    return services


def receive(service: str, raw_body: bytes, headers: Mapping[str, str], source_ip: str | None) -> WebhookReceiptOut:
    """Check, store once and queue one delivery; raises the rejection (404, 413, 401, 400; 429 past the limit)."""
    limits = read_settings([WEBHOOK_MAX_BODY_BYTES, WEBHOOK_REJECTIONS_PER_IP_PER_HOUR])
    try:
        sender = configured_services().get(service)
        if sender is None:
            raise UnknownService()
        max_bytes = limits[WEBHOOK_MAX_BODY_BYTES.key]
        if len(raw_body) > max_bytes:
            raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes})
        if sender.scheme == "meta":
            verify_meta_signature(sender.secret, raw_body, headers.get(META_SIGNATURE_HEADER))
        else:
            verify_standard_webhook(sender.secret, raw_body, headers)
        payload, event_type = _parse(sender, raw_body)
        event_id = _event_id(sender, payload, headers)
    except (UnknownService, PayloadTooLarge, SignatureRejected, MalformedPayload) as error:
        reject(service, error.code, source_ip, limits[WEBHOOK_REJECTIONS_PER_IP_PER_HOUR.key])
        raise
    return _accept(sender, event_id, event_type, payload, source_ip)


def answer_meta_verification(query: MetaVerificationQuery, source_ip: str | None) -> str:
    """Meta's subscription handshake: the challenge to answer back, or 403 (audited like a rejected call)."""
    token = get_settings().meta_webhook_verify_token
    expected = (token.get_secret_value() if token else "").encode()
    given = (query.hub_verify_token or "").encode()
    challenge = query.hub_challenge or ""
    # Every part is evaluated whatever the others say: the time taken tells nothing about the token.
    matches = hmac.compare_digest(expected, given) & bool(expected)
    if not (matches & (query.hub_mode == "subscribe") & (0 < len(challenge) <= MAX_CHALLENGE_CHARS)):
        limit = read_settings([WEBHOOK_REJECTIONS_PER_IP_PER_HOUR])[WEBHOOK_REJECTIONS_PER_IP_PER_HOUR.key]
        reject(META, "verification_refused", source_ip, limit)
        raise Forbidden("The verification request does not match this endpoint's verify token.")
    return challenge


def reject(service: str, reason: str, source_ip: str | None, limit: int) -> None:
    """Count one rejection of ``source_ip`` and audit it; 429 (not audited) once the address is past ``limit``."""
    identifier = source_ip or "-"
    state = ratelimit.hit(REJECTIONS_NAMESPACE, identifier, limit=limit, window_s=REJECTION_WINDOW_S)
    if state is None:  # Redis unavailable: this container's window, the same limit
        key = ratelimit.window_key(REJECTIONS_NAMESPACE, identifier)
        state = _local_rejections.hit(key, limit=limit, window_s=REJECTION_WINDOW_S)
    if not state.allowed:
        raise TooManyRequests(
            f"Too many rejected webhook calls from your address; retry after {state.retry_after_s} s.",
            retry_after_s=state.retry_after_s,
            details={"limit": limit, "window_s": REJECTION_WINDOW_S},
        )
    with connection() as conn:
        record_audit(
            conn,
            "webhook.rejected",
            "webhook",
            service[:64],
            {"service": service[:64], "reason": reason},
            {"ip_address": source_ip},
        )
    logger.warning("webhook call for %r from %s rejected: %s", service[:64], source_ip, reason)


def _validation_details(error: ValidationError) -> list[dict[str, Any]]:
    """Field errors without the submitted values."""
    return [
        {"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def _parse(sender: IncomingService, raw_body: bytes) -> tuple[dict[str, Any], str]:
    """The payload as validated JSON and its event type; :class:`MalformedPayload` otherwise."""
    try:
        data = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedPayload("The body is not valid JSON.") from None
    except RecursionError:
        raise MalformedPayload(f"The body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise MalformedPayload(f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(data, dict):
        raise MalformedPayload("The body is not a JSON object.")
    if problems := unsafe_text_details(data, ["body"]):
        raise MalformedPayload("The body holds characters no payload may.", details=problems)
    model: type[BaseModel] = MetaNotification if sender.scheme == "meta" else MentionsEvent
    try:
        parsed = model.model_validate(data)
    except ValidationError as error:
        raise MalformedPayload(details=_validation_details(error)) from None
    event_type = parsed.object if isinstance(parsed, MetaNotification) else parsed.type
    return data, str(event_type)


def _event_id(sender: IncomingService, payload: dict[str, Any], headers: Mapping[str, str]) -> str:
    if sender.scheme == "meta":
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    event_id = str(headers.get("webhook-id") or "")
    if not _EVENT_ID.match(event_id):
        raise MalformedPayload(
            f"The webhook-id must be 1 to {MAX_EVENT_ID_CHARS} printable ASCII characters without spaces.",
            details=[{"loc": ["header", "webhook-id"], "msg": "invalid message id", "type": "value_error"}],
        )
    return event_id


def _accept(
    sender: IncomingService, event_id: str, event_type: str, payload: dict[str, Any], source_ip: str | None
) -> WebhookReceiptOut:
    queue_url = get_settings().webhook_inbox_queue_url
    if not queue_url:
        raise DependencyUnavailable("webhook inbox", "No webhook inbox queue is configured.")
    with connection() as conn:
        receipt_id, needs_enqueue = store_receipt(conn, sender.name, event_id, event_type, payload, source_ip)
    if not needs_enqueue:
        logger.info("webhook %s %s is a duplicate; not queued again", sender.name, event_id)
        return WebhookReceiptOut(status="duplicate", event_id=event_id)
    _enqueue(queue_url, {"receipt_id": receipt_id, "service": sender.name, "event_id": event_id})
    mark_enqueued(receipt_id)
    logger.info("webhook %s %s (%s) accepted as receipt %s", sender.name, event_id, event_type, receipt_id)
    return WebhookReceiptOut(status="accepted", event_id=event_id)


def _enqueue(queue_url: str, message: dict[str, Any]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from warroom.core.aws import aws_client

    try:
        aws_client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
    except (BotoCoreError, ClientError) as error:
        logger.error("webhook receipt %s could not be queued: %s", message["receipt_id"], type(error).__name__)
        raise DependencyUnavailable("sqs", "The webhook could not be queued; send it again shortly.") from error


__all__ = [
    "META",
    "IncomingService",
    "MalformedPayload",
    "UnknownService",
    "answer_meta_verification",
    "configured_services",
    "receive",
    "reject",
]
