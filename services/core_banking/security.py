"""Passwords, customer JWTs and the service token (contract: docs/architecture.md, Identity).

Customer token: EdDSA (Ed25519) signed with CORE_BANKING_JWT_PRIVATE_KEY, issued and verified
by bot/identity.py; claims sub (customer id), typ="customer", iss="core-banking", iat, exp. The service token is an opaque shared secret
compared in constant time; it is not a JWT, so it can never pass as a customer token, and a
customer JWT never equals the service token.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Optional

from bot import identity

_PBKDF2_ITERATIONS = 120_000


def hash_password(password: str, *, salt: Optional[bytes] = None, iterations: int = _PBKDF2_ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "pbkdf2_sha256${}${}${}".format(
        iterations, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


# Used for unknown usernames so a login attempt costs the same either way.
_DUMMY_HASH = hash_password("not-a-real-password", salt=b"0" * 16)


def verify_password(password: str, stored: Optional[str]) -> bool:
    try:
        scheme, iterations, salt_b64, digest_b64 = (stored or _DUMMY_HASH).split("$")
        if scheme != "pbkdf2_sha256":
            return False
        expected = base64.b64decode(digest_b64)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"),
                                     base64.b64decode(salt_b64), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual) and stored is not None


def issue_customer_token(customer_id: str, *, private_key: str, ttl: timedelta,
                         now: Optional[datetime] = None) -> str:
    return identity.issue_customer_token(customer_id, private_hex=private_key, ttl=ttl, now=now)


def customer_id_from_token(token: str, *, public_key: str) -> Optional[str]:
    """The `sub` of a valid customer token, else None (bad signature, expired, wrong type...)."""
    try:
        return identity.customer_claims(token, public_key)["sub"]
    except identity.InvalidCustomerToken:
        return None


def is_service_token(token: str, *, service_token: str) -> bool:
    if not token or not service_token:
        return False
    return hmac.compare_digest(token.encode("utf-8"), service_token.encode("utf-8"))
