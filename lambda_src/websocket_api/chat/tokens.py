"""HS256 connect tokens (compact JWTs) signed and verified with PyJWT, under this API's rules.

A token is a standard JWT with header ``{"alg": "HS256", "typ": "JWT"}`` and claims ``sub``
(who) and ``exp`` (epoch seconds), so any JWT library can issue one; see docs/websocket_api.md.
PyJWT parses the token and checks the signature with the algorithm pinned to HS256 (so no
``none`` and no RS/HS key confusion). On top, this module refuses what PyJWT would let through:

- a second spelling of the same bytes. PyJWT decodes base64url leniently (the spare bits of
  the last character are ignored, ``+``/``/`` read as ``-``/``_``), so up to four spellings of
  one signature verify; here every part must be the canonical encoding of what it decodes to;
- an ``exp`` that is not an integer (PyJWT would read ``"123"`` or ``true``), one in the past,
  or one further away than the lifetime the API allows (``exp`` is required);
- a ``sub`` outside a safe character set, and a not-yet-valid ``nbf``.

Every decode failure, however deep the JSON nests, is an :class:`InvalidToken`, never another
exception. A key shorter than 256 bits is a configuration error (``ValueError``).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import jwt

MAX_TOKEN_CHARS = 2048
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_KEY_BYTES = 32
_SUBJECT = re.compile(r"[A-Za-z0-9_.@:+-]{1,128}")  # fullmatch: "$" would allow a final "\n"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_ALGORITHM = "HS256"
# Time and audience rules are this module's (with an injectable clock), not PyJWT's defaults.
_PYJWT_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


class InvalidToken(Exception):
    """The token is not one this API issued, or no longer valid; the message says which."""


def canonical_parts(token: str, *, max_chars: int = MAX_TOKEN_CHARS) -> list[str]:
    """The token's dot-separated parts, each checked to be canonical unpadded base64url: the
    only spelling of its bytes (one token, one string), or :class:`InvalidToken`."""
    if len(token) > max_chars:
        raise InvalidToken("token is too long")
    pieces = token.split(".")
    if len(pieces) != 3:
        raise InvalidToken("token must have three parts")
    for piece in pieces:
        if not _BASE64URL.fullmatch(piece) or len(piece) % 4 == 1:
            raise InvalidToken("token is not base64url")
        raw = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != piece:
            raise InvalidToken("token is not canonical base64url")
    return pieces


def check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        # A configuration error, not a bad token: raised so that it reaches the error alarm.
        raise ValueError(f"HS256 keys must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")


def sign(key: bytes, subject: str, expires_at: int) -> str:
    """A token for ``subject`` valid until ``expires_at`` (epoch seconds)."""
    check_key(key)
    if not _SUBJECT.fullmatch(subject):
        raise ValueError("subject must be 1-128 characters of A-Z a-z 0-9 _ . @ : + -")
    return jwt.encode({"sub": subject, "exp": expires_at}, key, algorithm=_ALGORITHM)


def _claims(key: bytes, token: str) -> dict[str, Any]:
    canonical_parts(token)
    try:
        claims = jwt.decode(token, key, algorithms=[_ALGORITHM], options=_PYJWT_OPTIONS)
    except jwt.InvalidSignatureError:
        raise InvalidToken("token signature does not match") from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken(f"token algorithm must be {_ALGORITHM}") from None
    except jwt.InvalidKeyError as err:  # HS256 with an asymmetric-looking key: PyJWT refuses
        raise ValueError(f"unusable HS256 key: {err}") from None
    except jwt.PyJWTError as err:
        raise InvalidToken(f"token is malformed: {err}") from None
    except (ValueError, RecursionError, TypeError):
        # Defensive: PyJWT maps decode failures to DecodeError today; a future release that
        # lets one escape must still end in a refusal, not a crashed authorizer.
        raise InvalidToken("token is malformed") from None
    return dict(claims)


def check_subject(subject: Any) -> str:
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise InvalidToken("token subject is missing or malformed")
    return subject


def check_claims(claims: dict[str, Any], *, now: int, max_lifetime: int) -> str:
    """The subject of signed ``claims`` under this API's rules, or :class:`InvalidToken`."""
    subject, expires_at = check_subject(claims.get("sub")), claims.get("exp")
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        raise InvalidToken("token expiry is missing or not an integer")
    if expires_at <= now:
        raise InvalidToken("token has expired")
    if expires_at > now + max_lifetime:
        raise InvalidToken("token lifetime exceeds what this API allows")
    not_before = claims.get("nbf")
    if not_before is not None and (
        not isinstance(not_before, int) or isinstance(not_before, bool) or not_before > now
    ):
        raise InvalidToken("token is not valid yet")
    return subject


def verify(key: bytes, token: str, *, now: int, max_lifetime: int) -> str:
    """The token's subject, or :class:`InvalidToken`."""
    check_key(key)
    # Only signed claims are read, so nothing below can be steered by a forger.
    return check_claims(_claims(key, token), now=now, max_lifetime=max_lifetime)
