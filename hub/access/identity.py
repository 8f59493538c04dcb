"""Bearer tokens (JWT): who the caller is. What they may do is ``hub.access.policy``."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from hub.settings import Settings


class TokenError(Exception):
    """The token is missing, malformed, expired or not signed by a trusted key."""


def mint_token(settings: Settings, username: str, ttl_seconds: int = 3600) -> str:
    """A development token (HS256, the configured secret). Production tokens come from the
    province's identity service."""
    if settings.is_production:
        raise TokenError("tokens are minted by the identity service in production")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": username,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _verification_key(settings: Settings, token: str) -> tuple[Any, str]:
    if settings.jwks_file is not None:
        header = jwt.get_unverified_header(token)
        keys = json.loads(settings.jwks_file.read_text(encoding="utf-8"))
        for key in jwt.PyJWKSet.from_dict(keys).keys:
            if key.key_id == header.get("kid"):
                return key.key, "RS256"
        raise TokenError(f"no key {header.get('kid')!r} in the JWKS file")
    if settings.jwt_public_key_file is not None:
        return settings.jwt_public_key_file.read_text(encoding="utf-8"), "RS256"
    if settings.is_production:
        raise TokenError("no public key configured for RS256 tokens (HUB_JWT_PUBLIC_KEY_FILE)")
    return settings.jwt_secret, "HS256"


def verify_token(settings: Settings, token: str) -> str:
    """The user name (``sub``) of a valid token."""
    try:
        key, algorithm = _verification_key(settings, token)
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as error:
        raise TokenError(f"invalid token: {error}") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenError("invalid token: no subject")
    return subject


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header must be 'Bearer <token>'")
    return token.strip()
