"""Password hashing with bcrypt at 12 rounds (the seed's cost).

Example
-------
>>> hashed = hash_password("correct horse battery staple")
>>> verify_password("correct horse battery staple", hashed)
True
"""

from __future__ import annotations

import bcrypt

from warroom.core.errors import ValidationFailed

BCRYPT_ROUNDS = 12
# bcrypt only reads 72 bytes; longer input is refused rather than silently truncated.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str) -> str:
    """A salted bcrypt hash of ``password``."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(
            f"The password is longer than {MAX_PASSWORD_BYTES} bytes.",
            details=[{"loc": ["body", "password"], "msg": "too long", "type": "string_too_long"}],
        )
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches; False (never an error) for over-long input or a malformed hash."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode())
    except ValueError:
        return False
