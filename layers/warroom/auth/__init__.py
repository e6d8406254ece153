"""Identity: accounts, sign-in, sessions and their tokens, MFA, and the password and email flows.

One module per concern: ``login`` (login, MFA step, refresh rotation, logout), ``account`` (register,
profile, password change / forgot / reset, email verification), ``mfa`` (TOTP setup, enabling,
disabling) over ``totp`` (codes, encrypted secrets), ``sessions`` (``user_sessions`` and
``refresh_tokens``), ``lockout`` (brute-force limits), ``tokens`` (opaque tokens, the MFA token),
``emails`` (single-use email tokens, SES), ``guard`` (request authentication: bearer token or API key,
revocation and the request quota, handed to every ``WarRoomApp``), ``api_keys`` (recognising an
``X-API-Key``), ``revocation`` (access-token deny lists), ``passwords``
(bcrypt, policy), ``users`` (the ``users`` SQL), ``permissions``, ``models`` and ``errors``.
"""
