"""Signatures of incoming webhooks, checked over the raw body bytes in constant time.

Example
-------
>>> verify_meta_signature(app_secret, raw_body, headers.get("x-hub-signature-256"))     # or SignatureRejected
>>> verify_standard_webhook("whsec_...", raw_body, headers)                             # or SignatureRejected

- **Meta** signs every delivery with the app secret: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret,
  raw body)>``. The hex digest is decoded and compared with :func:`hmac.compare_digest`.
- **Standard Webhooks** (https://www.standardwebhooks.com; the ``standardwebhooks`` reference package):
  ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">`` (several space-separated signatures while a secret rotates), with the secret
  ``whsec_<base64 key>``; a timestamp more than 5 minutes from now, either way, is refused (replays).

Every failure is a :class:`SignatureRejected` (401) whose ``reason`` says which check failed: ``signature_missing``,
``invalid_signature`` or ``stale_timestamp``. The reason goes into the answer and the audit entry; neither ever
holds a secret, the expected signature or the body.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from warroom.core.errors import Unauthorized

RejectionReason = Literal["signature_missing", "invalid_signature", "stale_timestamp"]
META_SIGNATURE_HEADER = "x-hub-signature-256"
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_MESSAGES: dict[str, str] = {
    "signature_missing": "The request carries no signature.",
    "invalid_signature": "The signature does not match the body.",
    "stale_timestamp": "The signature's timestamp is more than 5 minutes from now.",
}


class SignatureRejected(Unauthorized):
    """A webhook whose signature is missing, wrong or too old (401); ``reason`` names which."""

    def __init__(self, reason: RejectionReason):
        super().__init__(_MESSAGES[reason], details={"reason": reason})
        self.code = reason
        self.reason = reason


def verify_meta_signature(app_secret: str, raw_body: bytes, header: str | None) -> None:
    """Check Meta's ``X-Hub-Signature-256`` over ``raw_body``; raises :class:`SignatureRejected`."""
    if not header or not header.strip():
        raise SignatureRejected("signature_missing")
    scheme, _, hex_digest = header.strip().partition("=")
    try:
        given = bytes.fromhex(hex_digest)
    except ValueError:
        raise SignatureRejected("invalid_signature") from None
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).digest()
    # Both comparisons always run: the time taken says nothing about which part was wrong.
    if not (hmac.compare_digest(expected, given) & (scheme.lower() == "sha256")):
        raise SignatureRejected("invalid_signature")


def verify_standard_webhook(secret: str, raw_body: bytes, headers: Mapping[str, str]) -> None:
    """Check a Standard Webhooks signature with the reference verifier; raises :class:`SignatureRejected`.

    The verifier signs the body as text, so a body that is not UTF-8 cannot carry a valid signature.
    """
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    values = {name: headers.get(name) for name in STANDARD_HEADERS}
    if not all(values.values()):
        raise SignatureRejected("signature_missing")
    try:
        text = raw_body.decode("utf-8")
        Webhook(secret).verify(text, {k: str(v) for k, v in values.items()}, json_parse=False)
    except WebhookVerificationError as error:
        # The reference verifier says "too old" / "too new" for a timestamp outside its 5-minute tolerance.
        raise SignatureRejected("stale_timestamp" if "too" in str(error) else "invalid_signature") from None
    except (ValueError, TypeError, OverflowError, binascii.Error):
        # Not UTF-8, a signature without its "v1," or not base64: the verifier's own parsing gave up.
        raise SignatureRejected("invalid_signature") from None


def standard_secret_is_valid(secret: str) -> bool:
    """Whether ``secret`` is a usable Standard Webhooks secret (``whsec_`` and base64, not empty)."""
    from standardwebhooks.webhooks import Webhook

    try:
        Webhook(secret)
    except Exception:  # the package raises binascii.Error, its EmptyWebhookSecretError or RuntimeError
        return False
    return True
