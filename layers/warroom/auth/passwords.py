"""Password hashing with bcrypt at 12 rounds (the seed's cost) and the password policy.

Example
-------
>>> check_password_policy("correct horse battery staple", user_inputs=["ana@campaign.org", "Ana López"])
>>> hashed = hash_password("correct horse battery staple")
>>> verify_password("correct horse battery staple", hashed)
True

The policy: at least 12 characters, at most 72 bytes (bcrypt reads no more, and silently truncating
would make two different passwords one), and not guessable: ``zxcvbn`` must score it 3 or more
("safely unguessable", ~10^8 guesses) with the user's own email and name counted as known words.
A refusal is a 422 whose message says why and what would help; the password itself never appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import bcrypt

from warroom.core.errors import ValidationFailed

BCRYPT_ROUNDS = 12
# bcrypt only reads 72 bytes; longer input is refused rather than silently truncated.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_CHARS = 12
MIN_ZXCVBN_SCORE = 3
# A real 12-round hash of a random string nobody knows: an unknown email is checked against it so that
# it costs the same ~0.25 s as a wrong password (no timing oracle for which emails have accounts).
DUMMY_HASH = "$2b$12$5T/F6m5pBQTEx23rEr1Zge17Qa6vYI1AaF6MagCgZpk.RBuhFxQuO"


def _refuse(message: str, kind: str, field: str) -> ValidationFailed:
    from warroom.auth.errors import WeakPassword

    return WeakPassword(message, details=[{"loc": ["body", field], "msg": message, "type": kind}])


def check_password_policy(password: str, user_inputs: Iterable[str | None] = (), field: str = "password") -> None:
    """422 unless ``password`` is long enough, short enough for bcrypt and hard to guess."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise _refuse(f"The password needs at least {MIN_PASSWORD_CHARS} characters.", "password_too_short", field)
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise _refuse(f"The password is longer than {MAX_PASSWORD_BYTES} bytes.", "password_too_long", field)
    from zxcvbn import zxcvbn  # ~30 ms to load its dictionaries: only on the routes that set a password

    # The whole value, an email's local part and every word of either: "ana.lopez", "ana", "lopez", "campaign"...
    words = [
        part
        for value in user_inputs
        if value
        for part in [value, value.partition("@")[0], *re.split(r"[\s@._+-]+", value)]
        if part
    ]
    result = zxcvbn(password, user_inputs=words)
    if result["score"] < MIN_ZXCVBN_SCORE:
        feedback = result.get("feedback") or {}
        hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        message = "The password is too easy to guess" + (f": {hints}" if hints else ".")
        if not hints:
            message += " Use a longer phrase of uncommon words, not your name or email."
        raise _refuse(message, "password_too_weak", field)


def hash_password(password: str) -> str:
    """A salted bcrypt hash of ``password``."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(
            f"The password is longer than {MAX_PASSWORD_BYTES} bytes.",
            details=[{"loc": ["body", "password"], "msg": "too long", "type": "string_too_long"}],
        )
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` matches; False (never an error) for over-long input or a malformed hash.

    With no hash (unknown user) the dummy hash is checked, so the answer takes as long as a real one.
    """
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        # Same cost as a real check: the length of the input must not be a faster path.
        bcrypt.checkpw(b"", DUMMY_HASH.encode())
        return False
    try:
        matched = bcrypt.checkpw(encoded, (password_hash or DUMMY_HASH).encode())
    except ValueError:
        return False
    return matched and password_hash is not None
