"""Passwords, hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second choice).

Only the hash is stored; no password is logged or kept in memory longer than the call.
`verify` also spends an Argon2 verification when there is no hash to check (an unknown
user), so the time a login takes does not say whether the account exists.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password anyone has")
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when `password` matches the `stored` hash; False for None (after the same work)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def weak(password: str) -> str | None:
    """Why `password` is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    return None
