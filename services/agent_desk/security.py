"""Passwords (stdlib scrypt), agent JWTs (HS256) and the bot side's service token."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Optional

import jwt

from services.agent_desk.errors import NotAuthenticated

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "agent-desk"
JWT_AUDIENCE = "agent-desk"
TOKEN_TYPE = "agent"
ROLES = ("agent", "supervisor", "content")
# Who may use what: the handoff console (customers' conversations) and the content studio.
DESK_ROLES = frozenset({"agent", "supervisor"})
STUDIO_ROLES = frozenset({"content", "supervisor"})

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A real hash to check against when the username does not exist, so both cases cost the same.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AgentClaims:
    username: str
    role: str
    display_name: str


def issue_agent_token(secret: str, username: str, role: str, display_name: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {"sub": username, "typ": TOKEN_TYPE, "role": role, "name": display_name,
              "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + ttl_seconds,
              "jti": secrets.token_hex(8)}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_agent_token(secret: str, token: str) -> AgentClaims:
    """Accepts only HS256 tokens signed with the desk's secret, issued for the desk, typ "agent".

    A core-banking customer token fails here twice over: another secret, and typ "customer".
    """
    if not token or not secret:
        raise NotAuthenticated("登录已失效，请重新登录", code="invalid_token")
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE,
                            issuer=JWT_ISSUER, options={"require": ["exp", "iat", "sub", "typ", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("登录已失效，请重新登录", code="invalid_token") from exc
    if claims.get("typ") != TOKEN_TYPE or claims.get("role") not in ROLES:
        raise NotAuthenticated("登录已失效，请重新登录", code="invalid_token")
    return AgentClaims(str(claims["sub"]), str(claims["role"]), str(claims.get("name") or claims["sub"]))


def service_token_matches(configured: str, presented: Optional[str]) -> bool:
    if not configured or not presented:
        return False
    return hmac.compare_digest(configured.encode("utf-8"), presented.encode("utf-8"))


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
