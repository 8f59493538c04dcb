"""Bearer tokens (JWT): who the caller is. What they may do is ``hub.access.policy``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
from cachetools import LRUCache

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


class KeyFiles:
    """Key files (JWKS, PEM) read and parsed once, then again only when the file changes (its
    modification time, size or inode: an atomic replace counts): a key rotation needs no
    restart, and a request costs a ``stat``, not a read and a parse."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[Path, str], tuple[tuple[int, int, int], Any]] = {}

    def load(self, path: Path, parse: Callable[[str], Any]) -> Any:
        try:
            stat = path.stat()
        except OSError as error:
            raise TokenError(f"the key file {path} cannot be read: {error}") from None
        version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        key = (path, parse.__name__)
        with self._lock:
            held = self._held.get(key)
            if held is not None and held[0] == version:
                return held[1]
        try:
            value = parse(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, jwt.PyJWTError) as error:
            raise TokenError(f"the key file {path} cannot be used: {error}") from None
        with self._lock:
            self._held[key] = (version, value)
        return value


KEY_FILES = KeyFiles()


def _jwks(text: str) -> dict[str, Any]:
    """kid -> key of a JWKS document."""
    return {
        key.key_id: key.key
        for key in jwt.PyJWKSet.from_dict(json.loads(text)).keys
        if key.key_id is not None
    }


def _pem(text: str) -> str:
    return text


def _verification_key(settings: Settings, token: str) -> tuple[Any, str]:
    if settings.jwks_file is not None:
        header = jwt.get_unverified_header(token)
        keys: dict[str, Any] = KEY_FILES.load(settings.jwks_file, _jwks)
        found = keys.get(str(header.get("kid")))
        if found is None:
            raise TokenError(f"no key {header.get('kid')!r} in the JWKS file")
        return found, "RS256"
    if settings.jwt_public_key_file is not None:
        return KEY_FILES.load(settings.jwt_public_key_file, _pem), "RS256"
    if settings.is_production:
        raise TokenError("no public key configured for RS256 tokens (HUB_JWT_PUBLIC_KEY_FILE)")
    return settings.jwt_secret, "HS256"


# Tokens verified recently: (settings, token) -> (user, expiry, the key that verified it).
# A token is a bearer's for its whole life, so a repeated one needs no signature check as
# long as it has not expired and the key that verified it is still the one in force (a key
# rotation, which replaces the key object, makes every earlier entry miss).
_VERIFIED: LRUCache[tuple[int, str], tuple[str, float, Any, Settings]] = LRUCache(maxsize=10_000)


def verify_token(settings: Settings, token: str) -> str:
    """The user name (``sub``) of a valid token."""
    try:
        key, algorithm = _verification_key(settings, token)
        cached = _VERIFIED.get((id(settings), token))
        if (
            cached is not None
            and cached[2] is key
            and cached[3] is settings  # not another Settings that took a freed one's id
            and time.time() < cached[1]
        ):
            return cached[0]
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
    expiry = claims.get("exp")
    if isinstance(expiry, int | float) and not isinstance(expiry, bool):
        _VERIFIED[(id(settings), token)] = (subject, float(expiry), key, settings)
    return subject


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header must be 'Bearer <token>'")
    return token.strip()
