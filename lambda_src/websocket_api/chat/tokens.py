"""HS256 connect tokens (compact JWTs), signed and verified with the standard library only.

A token is ``base64url(header).base64url(claims).base64url(HMAC-SHA256(key, header.claims))``
with header ``{"alg": "HS256", "typ": "JWT"}`` and claims ``sub`` (who) and ``exp`` (epoch
seconds), so any JWT library can issue one; see docs/websocket_api.md. Verification accepts
exactly that: no other ``alg`` (so no ``none`` and no key confusion), a signature compared in
constant time, a ``sub`` of safe characters, and an ``exp`` in the future but not further than
the lifetime the API allows. A key shorter than 256 bits is a configuration error (``ValueError``),
not a refused token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

MAX_TOKEN_CHARS = 2048
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_KEY_BYTES = 32
_SUBJECT = re.compile(r"[A-Za-z0-9_.@:+-]{1,128}")  # fullmatch: "$" would allow a final "\n"
_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidToken(Exception):
    """The token is not one this API issued, or no longer valid; the message says which."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise InvalidToken("token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("token is not base64url") from None


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidToken("token part is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("token part is not a JSON object")
    return value


def _signature(key: bytes, signing_input: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        # A configuration error, not a bad token: raised so that it reaches the error alarm.
        raise ValueError(f"HS256 keys must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    return hmac.new(key, signing_input.encode(), hashlib.sha256).digest()


def sign(key: bytes, subject: str, expires_at: int) -> str:
    """A token for ``subject`` valid until ``expires_at`` (epoch seconds)."""
    if not _SUBJECT.fullmatch(subject):
        raise ValueError("subject must be 1-128 characters of A-Z a-z 0-9 _ . @ : + -")
    header = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    claims = _b64encode(
        json.dumps({"sub": subject, "exp": expires_at}, separators=(",", ":")).encode()
    )
    signing_input = f"{header}.{claims}"
    return f"{signing_input}.{_b64encode(_signature(key, signing_input))}"


def verify(key: bytes, token: str, *, now: int, max_lifetime: int) -> str:
    """The token's subject, or :class:`InvalidToken`."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("token is too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("token must have three parts")
    header_b64, claims_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64))
    if header.get("alg") != "HS256":
        raise InvalidToken("token algorithm must be HS256")
    expected = _signature(key, f"{header_b64}.{claims_b64}")
    if not hmac.compare_digest(expected, _b64decode(signature_b64)):
        raise InvalidToken("token signature does not match")
    # Only signed claims are read, so nothing below can be steered by a forger.
    claims = _json_object(_b64decode(claims_b64))
    subject, expires_at = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise InvalidToken("token subject is missing or malformed")
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise InvalidToken("token expiry is missing or not an integer")
    if expires_at <= now:
        raise InvalidToken("token has expired")
    if expires_at > now + max_lifetime:
        raise InvalidToken("token lifetime exceeds what this API allows")
    not_before = claims.get("nbf")
    if not_before is not None and (not isinstance(not_before, int) or not_before > now):
        raise InvalidToken("token is not valid yet")
    return subject
