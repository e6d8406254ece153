"""TOTP codes (RFC 6238, ``pyotp``) and the encrypted storage of their secrets; the flow is :mod:`warroom.auth.mfa`.

Example
-------
>>> secret, uri = new_totp_secret("ana@campaign.org")   # shown once, to put in an authenticator app
>>> stored = encrypt_secret(secret)                     # what users.mfa_secret holds
>>> code_is_valid(user_id, stored, "123456")            # False for a wrong or already used code

Codes are accepted one 30-second step either side of now (clock drift) and each step's code once
only (a Redis ``SET NX`` per user and step; with Redis down the code is still checked, but a replay
within its 90 seconds is not caught). The secret is stored encrypted with Fernet (AES-128-CBC +
HMAC-SHA256) under a key derived with HKDF-SHA256 from the token signing key, so a database dump
alone does not reveal it. Rotating ``JWT_SECRET`` therefore makes the stored secrets unreadable: codes
are then refused (fail closed) until the user's ``mfa_secret``/``mfa_enabled_at`` are cleared and MFA
is set up again. The secret never appears in an answer after setup.
"""

from __future__ import annotations

import hmac
import time

from warroom.core import cache

ISSUER = "War Room"
TOTP_STEP_S = 30
VALID_WINDOW_STEPS = 1


def _fernet():
    from warroom.core.security import secret_box

    return secret_box("mfa")


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str) -> str | None:
    """The TOTP secret, or None when it cannot be decrypted (the signing key changed since setup)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        return None


def new_totp_secret(account_name: str) -> tuple[str, str]:
    """A fresh base32 secret (160 bits) and its ``otpauth://`` provisioning URI."""
    import pyotp

    secret = pyotp.random_base32(32)
    return secret, pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def code_is_valid(user_id: str, stored_secret: str | None, code: str, *, now: float | None = None) -> bool:
    """Whether ``code`` is the user's current code (±1 step) and was not used before."""
    import pyotp

    secret = decrypt_secret(stored_secret) if stored_secret else None
    if secret is None:
        return False
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
    moment = time.time() if now is None else now
    for offset in range(-VALID_WINDOW_STEPS, VALID_WINDOW_STEPS + 1):
        step_time = moment + offset * TOTP_STEP_S
        if hmac.compare_digest(totp.at(step_time), code):
            return _first_use(user_id, int(step_time // TOTP_STEP_S))
    return False


def _first_use(user_id: str, step: int) -> bool:
    """Record that this step's code was used; False if it already was (replay). True when Redis is down."""
    key = f"auth:totp_used:{user_id}:{step}"
    ttl_s = (2 * VALID_WINDOW_STEPS + 2) * TOTP_STEP_S
    first = cache.run("totp_used", lambda r: r.set(key, 1, nx=True, ex=ttl_s) is not None, default=None)
    return first is not False
