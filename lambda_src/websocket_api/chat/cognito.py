"""Cognito user pool tokens (RS256 JWTs) verified against the pool's published keys (JWKS).

What AWS documents for verifying a Cognito JWT, checked here with PyJWT: the signature with the
pool's key named by ``kid``, algorithm pinned to RS256; ``iss`` is the pool
(``https://cognito-idp.<region>.amazonaws.com/<pool id>``); ``token_use`` is one this API
accepts; an id token's ``aud`` or an access token's ``client_id`` is one of the app clients
allowed; ``exp`` is in the future. The subject is the user's ``sub`` (a UUID, stable for life).

The keys come from ``<issuer>/.well-known/jwks.json`` - the only network call - fetched with a
short timeout and cached per execution environment (PyJWKClient: the set for
``JWKS_CACHE_SECONDS``, an unknown ``kid`` refetches at most once per cooldown). A failed fetch
is an outage and raises (the error alarm), not a refused token.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import jwt

from .tokens import InvalidToken, canonical_parts, check_subject

JWKS_CACHE_SECONDS = 3600
JWKS_TIMEOUT_SECONDS = 2.0
# Cognito id tokens carry the user's attributes and groups: more room than server tokens.
MAX_COGNITO_TOKEN_CHARS = 8192
TOKEN_USES = frozenset({"id", "access"})
_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+")
_ALGORITHM = "RS256"


class JwksUnavailable(Exception):
    """The pool's keys could not be fetched: an outage, not a bad token."""


def issuer_of(user_pool_id: str) -> str:
    """The ``iss`` of the pool's tokens; its region is the pool id's prefix."""
    match = _POOL_ID.fullmatch(user_pool_id)
    if match is None:
        raise ValueError(f"user pool id {user_pool_id!r}: expected <region>_<id>")
    return f"https://cognito-idp.{match['region']}.amazonaws.com/{user_pool_id}"


class CognitoVerifier:
    """Verifies a pool's tokens; one per execution environment, so its key cache is reused."""

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_ids: Collection[str],
        token_uses: Collection[str] = TOKEN_USES,
        jwks_client: jwt.PyJWKClient | None = None,
    ) -> None:
        if not client_ids:
            raise ValueError("at least one app client id is required")
        if not token_uses or not set(token_uses) <= TOKEN_USES:
            raise ValueError(f"token uses {sorted(token_uses)!r}: expected id and/or access")
        self.issuer = issuer_of(user_pool_id)
        self.client_ids = frozenset(client_ids)
        self.token_uses = frozenset(token_uses)
        self._jwks = jwks_client or jwt.PyJWKClient(
            f"{self.issuer}/.well-known/jwks.json",
            cache_jwk_set=True,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=JWKS_TIMEOUT_SECONDS,
        )

    def _signing_key(self, token: str) -> Any:
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as err:
            raise JwksUnavailable(f"fetching the pool's keys failed: {err}") from None
        except jwt.PyJWKClientError:
            raise InvalidToken("token was not signed by a key of this user pool") from None
        except jwt.PyJWTError as err:  # the header (kid) could not be read
            raise InvalidToken(f"token is malformed: {err}") from None

    def verify(self, token: str, *, now: int) -> str:
        """The user's ``sub``, or :class:`InvalidToken`."""
        canonical_parts(token, max_chars=MAX_COGNITO_TOKEN_CHARS)
        key = self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],
                issuer=self.issuer,
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature does not match") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"token algorithm must be {_ALGORITHM}") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token was not issued by this user pool") from None
        except jwt.PyJWTError as err:
            raise InvalidToken(f"token is malformed: {err}") from None
        except (ValueError, RecursionError, TypeError):
            raise InvalidToken("token is malformed") from None
        return self.check_claims(claims, now=now)

    def check_claims(self, claims: dict[str, Any], *, now: int) -> str:
        use = claims.get("token_use")
        if use not in self.token_uses:
            raise InvalidToken(f"token_use must be one of {sorted(self.token_uses)}")
        client = claims.get("aud") if use == "id" else claims.get("client_id")
        if not isinstance(client, str) or client not in self.client_ids:
            raise InvalidToken("token was issued to an app client this API does not accept")
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int) or isinstance(expires_at, bool):
            raise InvalidToken("token expiry is missing or not an integer")
        if expires_at <= now:
            raise InvalidToken("token has expired")
        return check_subject(claims.get("sub"))
