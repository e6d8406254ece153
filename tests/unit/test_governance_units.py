"""Pure units of governance: the API key format, path ids, export cells, the admin bodies."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import ValidationError

from warroom.admin.api_keys import new_key
from warroom.admin.models import ApiKeyCreate, UserUpdate
from warroom.audit.export import _safe_cell
from warroom.auth.api_keys import KEY_SCHEME, authenticate_api_key, hash_key
from warroom.core.errors import NotFound, Unauthorized
from warroom.core.ids import uuid_or_not_found


def test_a_new_key_has_a_unique_prefix_and_256_random_bits():
    # GIVEN many new keys
    keys = [new_key() for _ in range(200)]
    # THEN each reads wr_<12 hex>_<secret>, the secret decoding to 32 bytes, and none repeats
    for key, prefix in keys:
        scheme_and_prefix, _, secret = key.partition(f"{prefix}_")
        assert scheme_and_prefix == KEY_SCHEME
        assert len(prefix) == 12 and int(prefix, 16) >= 0
        assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) == 32
    assert len({key for key, _ in keys}) == len({prefix for _, prefix in keys}) == 200


def test_only_the_sha256_of_a_key_is_kept():
    key, _ = new_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert len(hash_key(key)) == 64


@pytest.mark.parametrize("key", ["", "Bearer abc", "wr_" + "a" * 200, "sk_live_123"])
def test_keys_not_in_our_format_are_refused_without_a_lookup(key):
    # (no database is configured in unit tests: reaching one would be a 503, not this 401)
    with pytest.raises(Unauthorized) as refused:
        authenticate_api_key(key)
    assert refused.value.details == {"reason": "api_key_invalid"}


def test_path_ids_are_uuids_or_not_found():
    assert uuid_or_not_found("3F1C2A9E5B7D4E8F9A0B1C2D3E4F5A6B", "user") == "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    for bad in ("42", "", "../../etc/passwd", "3f1c2a9e-5b7d-4e8f-9a0b"):
        with pytest.raises(NotFound):
            uuid_or_not_found(bad, "user")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("curl/8", "curl/8"),
        (None, ""),
        (7, 7),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(value, cell):
    assert _safe_cell(value) == cell


def test_an_update_must_change_something():
    with pytest.raises(ValidationError):
        UserUpdate()
    assert UserUpdate(status="deactivated").model_dump(exclude_none=True) == {"status": "deactivated"}


def test_an_api_key_cannot_expire_in_the_past():
    with pytest.raises(ValidationError) as refused:
        ApiKeyCreate(name="x", role="readonly", expires_at="2001-01-01T00:00:00Z")
    assert refused.value.errors()[0]["loc"] == ("expires_at",)
