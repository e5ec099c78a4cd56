"""The $connect authorizer and its HS256 tokens: who gets in, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import ROOT, LambdaContext, handler_package

SECRET_NAME = "chat-token-key"
KEY = b"k" * 64
NOW = 1_800_000_000
HOUR = 3600
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/$connect"

# RFC 7515 appendix A.1: an HS256 JWS made by the standard's authors with a 64-byte key (the
# JWK "k" below). Proves our verifier reads standard JWTs byte for byte (its header even holds a
# CRLF); it has no "sub", so it must get past the signature and stop there. (Not the jwt.io
# example: its key is 19 bytes, below the 32 bytes RFC 7518 requires for HS256.)
RFC7515_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7515_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)
RFC7515_NOW = 1_300_819_000  # before the token's exp (1300819380)


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ModuleType, ModuleType]]:
    env = {
        "TOKEN_SECRET_ARN": SECRET_NAME,
        "MAX_TOKEN_LIFETIME_SECONDS": str(HOUR),
        "POWERTOOLS_SERVICE_NAME": "websocket-chat-authorizer",
        "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with handler_package(ROOT / "lambda_src" / "websocket_api", env):
        yield importlib.import_module("chat.authorizer"), importlib.import_module("chat.tokens")


@pytest.fixture
def authorizer(chat: tuple[ModuleType, ModuleType]) -> ModuleType:
    return chat[0]


@pytest.fixture
def tokens(chat: tuple[ModuleType, ModuleType]) -> ModuleType:
    return chat[1]


def _event(query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "queryStringParameters": query,
        "headers": headers or {},
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c1"},
    }


def _effect(response: dict[str, Any]) -> str:
    (statement,) = response["policyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == METHOD_ARN
    return str(statement["Effect"])


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _forge(header: dict[str, Any], claims: dict[str, Any], key: bytes = KEY) -> str:
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


# -- allowed -----------------------------------------------------------------------------------


def test_a_valid_query_string_token_is_allowed_with_the_user_in_context(
    authorizer: ModuleType, tokens: ModuleType
) -> None:
    token = tokens.sign(KEY, "alice", NOW + 600)
    response = authorizer.authorize(_event({"token": token}), KEY, now=NOW)
    assert _effect(response) == "Allow"
    assert response["principalId"] == "alice"
    assert response["context"] == {"userId": "alice"}


@pytest.mark.parametrize(
    ("name", "scheme"), [("Authorization", "Bearer"), ("authorization", "bearer")]
)
def test_a_bearer_header_token_is_allowed(
    authorizer: ModuleType, tokens: ModuleType, name: str, scheme: str
) -> None:
    """The header alternative (identity source route.request.header.Authorization), in the
    casing a client sends it: header names and the scheme are case-insensitive."""
    token = tokens.sign(KEY, "bob", NOW + 600)
    response = authorizer.authorize(_event(headers={name: f"{scheme} {token}"}), KEY, now=NOW)
    assert _effect(response) == "Allow"
    assert response["principalId"] == "bob"


def test_a_token_from_any_hs256_jwt_library_is_accepted(authorizer: ModuleType) -> None:
    token = _forge({"alg": "HS256", "typ": "JWT"}, {"sub": "carol", "exp": NOW + 60, "iat": NOW})
    assert _effect(authorizer.authorize(_event({"token": token}), KEY, now=NOW)) == "Allow"


def test_the_rfc_7515_example_passes_the_signature_check(tokens: ModuleType) -> None:
    with pytest.raises(tokens.InvalidToken, match="subject is missing"):
        tokens.verify(RFC7515_KEY, RFC7515_TOKEN, now=RFC7515_NOW, max_lifetime=HOUR)


def test_the_rfc_7515_example_fails_with_another_key(tokens: ModuleType) -> None:
    with pytest.raises(tokens.InvalidToken, match="signature does not match"):
        tokens.verify(KEY, RFC7515_TOKEN, now=RFC7515_NOW, max_lifetime=HOUR)


# -- refused -------------------------------------------------------------------------------------


def _signed(tokens: ModuleType, **kwargs: Any) -> str:
    return str(tokens.sign(KEY, kwargs.get("sub", "alice"), kwargs.get("exp", NOW + 600)))


REFUSED: list[Any] = [
    pytest.param(lambda _: None, "no token", id="missing"),
    pytest.param(lambda _: "", "no token", id="empty"),
    pytest.param(lambda _: "not-a-token", "three parts", id="garbage"),
    pytest.param(lambda _: "a.b.c.d", "three parts", id="four-parts"),
    pytest.param(lambda _: "x" * 3000, "too long", id="oversize"),
    pytest.param(lambda t: t.sign(b"o" * 64, "alice", NOW + 600), "signature", id="wrong-key"),
    pytest.param(lambda t: t.sign(KEY, "alice", NOW), "expired", id="expired"),
    pytest.param(lambda t: t.sign(KEY, "alice", NOW + 2 * HOUR), "lifetime", id="too-long-lived"),
    pytest.param(
        lambda t: _signed(t)[:-2] + ("AA" if not _signed(t).endswith("AA") else "BB"),
        "signature",
        id="tampered-signature",
    ),
    pytest.param(
        lambda t: ".".join(
            [
                _signed(t).split(".")[0],
                _b64({"sub": "admin", "exp": NOW + 600}),
                _signed(t).split(".")[2],
            ]
        ),
        "signature",
        id="swapped-claims",
    ),
    pytest.param(
        lambda _: (
            _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({"sub": "x", "exp": NOW + 60}) + "."
        ),
        "HS256",
        id="alg-none",
    ),
    pytest.param(
        lambda _: _forge({"alg": "HS512", "typ": "JWT"}, {"sub": "x", "exp": NOW + 60}),
        "HS256",
        id="other-alg",
    ),
    pytest.param(lambda _: _forge({"alg": "HS256"}, {"exp": NOW + 60}), "subject", id="no-subject"),
    pytest.param(
        lambda _: _forge({"alg": "HS256"}, {"sub": "a b", "exp": NOW + 60}),
        "subject",
        id="bad-subject",
    ),
    pytest.param(
        lambda _: _forge({"alg": "HS256"}, {"sub": "alice\n", "exp": NOW + 60}),
        "subject",
        id="subject-with-trailing-newline",
    ),
    pytest.param(
        lambda _: _forge({"alg": "HS256"}, {"sub": "x", "exp": "soon"}), "expiry", id="exp-string"
    ),
    pytest.param(
        lambda _: _forge({"alg": "HS256"}, {"sub": "x", "exp": True}), "expiry", id="exp-bool"
    ),
    pytest.param(
        lambda _: _forge({"alg": "HS256"}, {"sub": "x", "exp": NOW + 60, "nbf": NOW + 30}),
        "not valid yet",
        id="not-before",
    ),
    pytest.param(
        lambda _: _b64({"alg": "HS256"}) + "." + "eyJub3QganNvbg" + "." + "AAAA",
        "signature",
        id="unsigned-junk-claims",
    ),
    pytest.param(lambda _: "a+b.c/d.e=f", "base64url", id="not-base64url"),
]


@pytest.mark.parametrize(("make_token", "reason"), REFUSED)
def test_bad_tokens_are_denied(
    authorizer: ModuleType,
    tokens: ModuleType,
    make_token: Any,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = make_token(tokens)
    event = _event(None if token is None else {"token": token})
    response = authorizer.authorize(event, KEY, now=NOW)
    assert _effect(response) == "Deny"
    assert "context" not in response
    if token:  # the reason is the one we expect, not some other failure
        with pytest.raises(tokens.InvalidToken, match=reason):
            tokens.verify(KEY, token, now=NOW, max_lifetime=HOUR)


def test_a_non_bearer_authorization_header_is_ignored(
    authorizer: ModuleType, tokens: ModuleType
) -> None:
    token = tokens.sign(KEY, "alice", NOW + 600)
    response = authorizer.authorize(
        _event(headers={"Authorization": f"Basic {token}"}), KEY, now=NOW
    )
    assert _effect(response) == "Deny"


@pytest.mark.parametrize("subject", ["alice\nadmin", "alice\n", "", "a" * 129])
def test_signing_refuses_an_unsafe_subject(tokens: ModuleType, subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        tokens.sign(KEY, subject, NOW + 60)


def test_a_key_shorter_than_256_bits_is_refused_for_signing(tokens: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        tokens.sign(b"k" * 31, "alice", NOW + 60)


def test_a_key_shorter_than_256_bits_is_a_configuration_error_not_a_deny(
    authorizer: ModuleType, tokens: ModuleType
) -> None:
    """Raised, so a too-short caller's secret shows in the authorizer's error alarm at once,
    rather than every connect being quietly refused (or accepted on a guessable key)."""
    token = tokens.sign(KEY, "alice", NOW + 600)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        authorizer.authorize(_event({"token": token}), b"short", now=NOW)


# -- the handler, with the key in (moto's) Secrets Manager ---------------------------------------


@pytest.fixture
def secret(aws_credentials: None, authorizer: ModuleType) -> Iterator[None]:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=SECRET_NAME, SecretString=KEY.decode()
        )
        yield
    parameters.clear_caches()


def test_handler_allows_a_token_signed_with_the_stored_key(
    authorizer: ModuleType, tokens: ModuleType, secret: None
) -> None:
    import time

    token = tokens.sign(KEY, "alice", int(time.time()) + 300)
    response = authorizer.lambda_handler(_event({"token": token}), LambdaContext())
    assert _effect(response) == "Allow"
    assert response["context"] == {"userId": "alice"}


def test_handler_denies_a_token_signed_with_another_key(
    authorizer: ModuleType, tokens: ModuleType, secret: None
) -> None:
    import time

    token = tokens.sign(b"n" * 64, "alice", int(time.time()) + 300)
    response = authorizer.lambda_handler(_event({"token": token}), LambdaContext())
    assert _effect(response) == "Deny"
