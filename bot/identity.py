"""Who the customer is: the one place customer tokens are issued and verified.

Core banking signs customer tokens with its Ed25519 private key (JWT, `alg: EdDSA`); every
other process (Rasa and its channels, the action server, the agent desk) holds only the
public key, so none of them can mint a token for anyone, whatever it is made to do.

Keys are 32 raw bytes written as 64 hex characters (one line in an env file, never read as a
command-line option): `CORE_BANKING_JWT_PRIVATE_KEY` (core banking only) and
`CORE_BANKING_JWT_PUBLIC_KEY` (everyone). `python -m bot run` generates a development pair
into `.run/secrets.env`; `python -m bot keypair` prints a new one for a deployment.

Claims: `sub` (customer id), `typ: "customer"`, `iss: "core-banking"`, `iat`, `exp`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

logger = logging.getLogger(__name__)

ISSUER = "core-banking"
TOKEN_TYPE = "customer"
ALGORITHM = "EdDSA"
MAX_TOKEN_CHARS = 4096
REQUIRED_CLAIMS = ["sub", "typ", "iss", "iat", "exp"]


class InvalidCustomerToken(Exception):
    """The token is missing, forged, expired or not a customer token."""


class InvalidKey(ValueError):
    """A configured key is not 64 hex characters of an Ed25519 key."""


@dataclass(frozen=True)
class Customer:
    customer_id: str
    token: str


# ---------------------------------------------------------------- keys
def generate_key_pair() -> Tuple[str, str]:
    """(private, public) as hex."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    return private, public_key_of(private)


def _raw(hex_key: str, name: str) -> bytes:
    try:
        raw = bytes.fromhex((hex_key or "").strip())
    except ValueError as exc:
        raise InvalidKey(f"{name} is not hex") from exc
    if len(raw) != 32:
        raise InvalidKey(f"{name} must be 64 hex characters (an Ed25519 key), got {len(hex_key or '')}")
    return raw


def private_key(hex_key: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_raw(hex_key, "CORE_BANKING_JWT_PRIVATE_KEY"))


def public_key(hex_key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_raw(hex_key, "CORE_BANKING_JWT_PUBLIC_KEY"))


@lru_cache(maxsize=8)  # core banking asks on every authenticated request (settings.jwt_public_key)
def public_key_of(private_hex: str) -> str:
    return private_key(private_hex).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


# ---------------------------------------------------------------- tokens
def issue_customer_token(customer_id: str, *, private_hex: str, ttl: timedelta,
                         now: Optional[datetime] = None, **claims: Any) -> str:
    """Core banking only: it alone has the private key."""
    now = now or datetime.now(timezone.utc)
    body = {"sub": customer_id, "typ": TOKEN_TYPE, "iss": ISSUER,
            "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()), **claims}
    return jwt.encode(body, private_key(private_hex), algorithm=ALGORITHM)


def customer_claims(token: Optional[str], public_hex: str) -> Dict[str, Any]:
    """The claims of a valid customer token, else InvalidCustomerToken."""
    if not token:
        raise InvalidCustomerToken("missing token")
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidCustomerToken("token too long")
    try:
        key = public_key(public_hex)
    except InvalidKey as exc:
        logger.error("customer tokens cannot be verified: %s", exc)
        raise InvalidCustomerToken("token verification is not configured") from exc
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": REQUIRED_CLAIMS})
    except jwt.PyJWTError as exc:
        raise InvalidCustomerToken(str(exc)) from exc
    if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidCustomerToken("not a customer token")
    return claims


def verify_customer_token(token: Optional[str], public_hex: Optional[str] = None) -> Customer:
    """The customer a token belongs to (public key: CORE_BANKING_JWT_PUBLIC_KEY by default)."""
    if public_hex is None:
        from bot.settings import get_settings

        public_hex = get_settings().core_banking_jwt_public_key
    claims = customer_claims(token, public_hex)
    return Customer(customer_id=claims["sub"], token=token or "")
