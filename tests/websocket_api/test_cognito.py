"""The Cognito option of the $connect authorizer: tokens of a locally generated RSA key, served
as a JWKS by a stub on 127.0.0.1, checked the way AWS documents for Cognito JWTs."""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from tests.support import ROOT, LambdaContext, handler_package

POOL_ID = "eu-west-1_Ab12Cd34E"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}"
CLIENT = "4k2example7client9id"
OTHER_CLIENT = "someoneelsesclient0id"
SUB = "8f2e6b0c-1d3a-4c5e-9f70-123456789abc"
KID = "pool-key-1"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/$connect"

POOL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROGUE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JwksStub:
    """Serves the pool's JWKS on 127.0.0.1 and counts the fetches."""

    def __init__(self) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(POOL_KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.fetches = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/{POOL_ID}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksStub]:
    stub = JwksStub()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[ModuleType, ModuleType]]:
    env = {
        "TOKEN_VERIFIER": "cognito",
        "COGNITO_USER_POOL_ID": POOL_ID,
        "COGNITO_CLIENT_IDS": CLIENT,
        "POWERTOOLS_SERVICE_NAME": "websocket-chat-authorizer",
        "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with handler_package(ROOT / "lambda_src" / "websocket_api", env):
        yield importlib.import_module("chat.authorizer"), importlib.import_module("chat.cognito")


@pytest.fixture(scope="module")
def cognito(chat: tuple[ModuleType, ModuleType]) -> ModuleType:
    return chat[1]


@pytest.fixture(scope="module")
def verifier(cognito: ModuleType, jwks: JwksStub) -> Any:
    return cognito.CognitoVerifier(
        user_pool_id=POOL_ID, client_ids=[CLIENT], jwks_client=jwt.PyJWKClient(jwks.url)
    )


def _claims(use: str = "id", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": SUB,
        "iss": ISSUER,
        "token_use": use,
        "exp": now + 3600,
        "iat": now,
        "auth_time": now,
    }
    claims.update({"aud": CLIENT} if use == "id" else {"client_id": CLIENT, "scope": "openid"})
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = POOL_KEY, kid: str = KID, alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _event(token: str) -> dict[str, Any]:
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "queryStringParameters": {"token": token}}


def test_an_id_token_of_the_pool_for_an_accepted_client_is_the_user(verifier: Any) -> None:
    assert verifier.verify(_token(_claims("id")), now=int(time.time())) == SUB


def test_an_access_token_is_checked_by_its_client_id(verifier: Any) -> None:
    assert verifier.verify(_token(_claims("access")), now=int(time.time())) == SUB


def test_the_issuer_is_derived_from_the_pool_id(cognito: ModuleType) -> None:
    assert cognito.issuer_of(POOL_ID) == ISSUER
    with pytest.raises(ValueError, match="expected <region>_<id>"):
        cognito.issuer_of("not-a-pool")


def _hs256_with_the_public_key() -> str:
    """The RS/HS confusion attack: HMAC keyed with the pool's public key, which anyone has."""
    pem = POOL_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": KID}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(_claims()).encode())
    signing_input = header + b"." + payload
    import hashlib
    import hmac

    signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()


def _respelled(token: str) -> str:
    """The same signature bytes spelled differently: the last character's spare bits set."""
    head, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    # 256 bytes of signature = 342 characters with 2 spare bits in the last one (value & 3 == 0).
    return f"{head}.{signature[:-1]}{alphabet[last | 1]}"


REFUSED: list[Any] = [
    pytest.param(lambda: _token(_claims(aud=OTHER_CLIENT)), "app client", id="id-token-other-aud"),
    pytest.param(
        lambda: _token(_claims("access", client_id=OTHER_CLIENT)), "app client", id="access-other"
    ),
    pytest.param(lambda: _token(_claims("access", client_id=None)), "app client", id="no-client"),
    pytest.param(
        lambda: _token(_claims(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")),
        "not issued by this user pool",
        id="other-pool",
    ),
    pytest.param(lambda: _token(_claims(token_use="refresh")), "token_use", id="other-use"),
    pytest.param(lambda: _token(_claims(token_use=None)), "token_use", id="no-use"),
    pytest.param(lambda: _token(_claims(exp=int(time.time()) - 1)), "expired", id="expired"),
    pytest.param(lambda: _token(_claims(exp=None)), "expiry", id="no-exp"),
    pytest.param(lambda: _token(_claims(exp="9999999999")), "expiry", id="exp-string"),
    pytest.param(lambda: _token(_claims(), key=ROGUE_KEY), "signature", id="rogue-key-same-kid"),
    pytest.param(
        lambda: _token(_claims(), key=ROGUE_KEY, kid="rogue"), "not signed by a key", id="rogue-kid"
    ),
    pytest.param(_hs256_with_the_public_key, "algorithm must be RS256", id="rs-hs-confusion"),
    pytest.param(
        lambda: _token(_claims(), key=None, alg="none"), "algorithm must be RS256", id="alg-none"
    ),
    pytest.param(lambda: _respelled(_token(_claims())), "canonical", id="respelled-signature"),
    pytest.param(lambda: "a.b", "three parts", id="two-parts"),
    pytest.param(lambda: "x" * 9000, "too long", id="oversize"),
]


@pytest.mark.parametrize(("make_token", "reason"), REFUSED)
def test_bad_cognito_tokens_are_refused(
    cognito: ModuleType, verifier: Any, make_token: Any, reason: str
) -> None:
    with pytest.raises(cognito.InvalidToken, match=reason):
        verifier.verify(make_token(), now=int(time.time()))


def test_an_accepted_token_use_can_be_narrowed_to_access_tokens(
    cognito: ModuleType, jwks: JwksStub
) -> None:
    access_only = cognito.CognitoVerifier(
        user_pool_id=POOL_ID,
        client_ids=[CLIENT],
        token_uses=["access"],
        jwks_client=jwt.PyJWKClient(jwks.url),
    )
    with pytest.raises(cognito.InvalidToken, match="token_use"):
        access_only.verify(_token(_claims("id")), now=int(time.time()))


def test_the_keys_are_fetched_once_and_reused(cognito: ModuleType, jwks: JwksStub) -> None:
    verifier = cognito.CognitoVerifier(
        user_pool_id=POOL_ID, client_ids=[CLIENT], jwks_client=jwt.PyJWKClient(jwks.url)
    )
    before = jwks.fetches
    for _ in range(3):
        verifier.verify(_token(_claims()), now=int(time.time()))
    assert jwks.fetches - before == 1


def test_unknown_key_ids_cannot_make_it_refetch_on_every_connect(
    cognito: ModuleType, jwks: JwksStub
) -> None:
    verifier = cognito.CognitoVerifier(
        user_pool_id=POOL_ID, client_ids=[CLIENT], jwks_client=jwt.PyJWKClient(jwks.url)
    )
    verifier.verify(_token(_claims()), now=int(time.time()))
    before = jwks.fetches
    for n in range(5):
        with pytest.raises(cognito.InvalidToken):
            verifier.verify(_token(_claims(), kid=f"made-up-{n}"), now=int(time.time()))
    assert jwks.fetches - before <= 1


def test_unreachable_keys_are_an_outage_not_a_deny(cognito: ModuleType, jwks: JwksStub) -> None:
    """Raised, so the error alarm fires; a Deny would blame every user for the outage."""
    closed = JwksStub()
    url = closed.url
    closed.close()
    verifier = cognito.CognitoVerifier(
        user_pool_id=POOL_ID, client_ids=[CLIENT], jwks_client=jwt.PyJWKClient(url, timeout=1)
    )
    with pytest.raises(cognito.JwksUnavailable):
        verifier.verify(_token(_claims()), now=int(time.time()))


def test_the_default_key_url_is_the_pools_jwks_with_a_short_timeout(cognito: ModuleType) -> None:
    verifier = cognito.CognitoVerifier(user_pool_id=POOL_ID, client_ids=[CLIENT])
    assert verifier._jwks.uri == f"{ISSUER}/.well-known/jwks.json"
    assert verifier._jwks.timeout <= 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"client_ids": []}, "app client id"), ({"token_uses": ["refresh"]}, "token uses")],
)
def test_a_verifier_without_clients_or_with_unknown_uses_is_refused(
    cognito: ModuleType, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cognito.CognitoVerifier(user_pool_id=POOL_ID, **{"client_ids": [CLIENT], **kwargs})


def test_the_handler_in_cognito_mode_allows_a_pool_user(
    chat: tuple[ModuleType, ModuleType],
    verifier: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authorizer = chat[0]
    monkeypatch.setattr(authorizer, "cognito", verifier)
    allowed = authorizer.lambda_handler(_event(_token(_claims())), LambdaContext())
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert allowed["context"] == {"userId": SUB}
    denied = authorizer.lambda_handler(_event(_token(_claims(aud=OTHER_CLIENT))), LambdaContext())
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in denied


def test_the_handler_in_cognito_mode_reads_its_pool_from_the_environment(
    chat: tuple[ModuleType, ModuleType],
) -> None:
    authorizer = chat[0]
    assert authorizer.cognito.issuer == ISSUER
    assert authorizer.cognito.client_ids == {CLIENT}


# -- property: the header parser that runs before any key is fetched -----------------------


@settings(max_examples=100)
@given(
    header=st.one_of(
        st.integers(min_value=1, max_value=50_000).map(lambda n: "[" * n),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda c: st.lists(c) | st.dictionaries(st.text(), c),
            max_leaves=10,
        ).map(json.dumps),
    ),
    signature=st.binary(max_size=300),
)
def test_any_header_is_an_invalid_token_before_any_key_is_used(
    cognito: ModuleType, verifier: Any, header: str, signature: bytes
) -> None:
    encode = jwt.utils.base64url_encode
    token = b".".join([encode(header.encode()), encode(b"{}"), encode(signature)]).decode()
    with pytest.raises(cognito.InvalidToken):
        verifier.verify(token[: cognito.MAX_COGNITO_TOKEN_CHARS], now=0)
