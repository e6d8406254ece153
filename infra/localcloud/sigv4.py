"""Checking an AWS Signature Version 4 the way API Gateway does for the Management API (``/@connections``).

Example
-------
>>> verify_sigv4("POST", raw_path, query, headers, body, access_key_id=key, secret_access_key=secret)
None            # or raises SignatureRejected("...") -> the gateway answers 403 ForbiddenException

The request is rebuilt from exactly the headers its ``Authorization`` says were signed and signed again
with botocore's own signer, so what boto3 signs on the functions' side is what is compared here. A
signature older or newer than 15 minutes is refused, as AWS refuses it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = dt.timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureRejected(Exception):
    """The request is not signed by this local cloud's key."""


def verify_sigv4(
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    now: dt.datetime | None = None,
) -> None:
    """Raise :class:`SignatureRejected` unless the request carries a valid, fresh SigV4 of this key pair."""
    lower = {name.lower(): value for name, value in headers.items()}
    match = _AUTHORIZATION.match(lower.get("authorization", ""))
    if match is None:
        raise SignatureRejected("Missing Authentication Token")
    if not hmac.compare_digest(match["key"], access_key_id):
        raise SignatureRejected("The security token included in the request is invalid.")
    amz_date = lower.get("x-amz-date", "")
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError as error:
        raise SignatureRejected("The request has no valid X-Amz-Date.") from error
    if abs((now or dt.datetime.now(dt.UTC)) - signed_at) > MAX_SKEW or not amz_date.startswith(match["date"]):
        raise SignatureRejected("Signature expired or not yet valid.")
    signed = match["signature"]
    names = match["signed"].split(";")
    if "host" not in names or any(name not in lower for name in names):
        raise SignatureRejected("The signed headers are not all present.")
    url = f"http://{lower['host']}{raw_path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers={name: lower[name] for name in names})
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key_id, secret_access_key), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signed):
        raise SignatureRejected("The request signature we calculated does not match the signature you provided.")
