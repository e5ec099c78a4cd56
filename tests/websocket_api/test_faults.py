"""The chat under injected DynamoDB and management-API faults (tests/faults.py): three
members connect and join a room, one sends a message to the other two. For every call the
handler makes, failed before the request or after AWS applied it, a client retries a step once
when it fails (the invocation raised, or the reply is a 503 frame); then every member has the
message (frames carry an id, so a repeat is recognisable: at most one distinct message each),
the sender's reply says how many were reached, gone or failed and adds up to the room, and the
table holds the three connections in the room. Also the authorizer: a failed secret read
never lets a connection in."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from tests.faults import Fault, Harness, harness
from tests.support import (
    FAKE_AWS_ENV,
    ROOT,
    LambdaContext,
    create_connections_table,
    handler_package,
    websocket_event,
)

TABLE, INDEX = "faults-chat", "by-room"
CALLBACK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
ENV = {
    "TABLE_NAME": TABLE,
    "ROOM_INDEX_NAME": INDEX,
    "CALLBACK_URL": CALLBACK_URL,
    "CONNECTION_TTL_SECONDS": "7800",
    "POWERTOOLS_SERVICE_NAME": "websocket-chat",
    "POWERTOOLS_METRICS_NAMESPACE": "ChatFaults",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_REGION": "us-east-1",
}
MEMBERS = ("alice", "bob", "carol")


def _event(route: str, connection_id: str, body: Any = None) -> dict[str, Any]:
    """A member's event, as the $connect authorizer let them in (their id is their user)."""
    text = None if body is None else json.dumps(body)
    user = {"userId": connection_id, "principalId": connection_id}
    return websocket_event(route, connection_id, text, authorizer=user)


def _frames(data: bytes) -> list[dict[str, Any]]:
    """The frames posted to one connection (moto keeps their bytes end to end)."""
    text, decoder, frames = data.decode(), json.JSONDecoder(), []
    while text:
        frame, end = decoder.raw_decode(text)
        frames.append(frame)
        text = text[end:]
    return frames


@dataclass
class Chat:
    app: ModuleType
    replies: list[dict[str, Any]] = field(default_factory=list)
    ran: bool = False
    ok: bool = False

    def setup(self) -> None:
        create_connections_table(TABLE, INDEX, region="us-east-1")
        self.replies, self.ran = [], False

    def _step(self, event: dict[str, Any]) -> bool:
        """One invocation, retried once by the client when it failed."""
        for _attempt in range(2):
            try:
                reply = self.app.lambda_handler(event, LambdaContext())
            except Exception:  # noqa: S112 - API Gateway answers 500; the client retries
                continue
            frame = json.loads(reply["body"]) if reply.get("body") else {}
            if frame.get("status") == 503:
                continue
            if frame:
                self.replies.append(frame)
            return reply["statusCode"] == 200 and frame.get("type") != "error"
        return False

    def run(self) -> bool:
        if self.ran:  # the client retried each step itself
            return self.ok
        self.ran = True
        self.ok = all(self._step(_event("$connect", m)) for m in MEMBERS)
        self.ok = self.ok and all(
            self._step(_event("join", m, {"action": "join", "room": "lobby"})) for m in MEMBERS
        )
        self.ok = self.ok and self._step(_event("send", "alice", {"action": "send", "text": "hi"}))
        return self.ok

    def visible(self) -> dict[str, Any]:
        rows = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
        posted = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections
        # Distinct messages by id: a repeat of one post is the same message, recognisable as
        # such; a second send (the sender's retry) would be a second message.
        received = {}
        for member in MEMBERS:
            if member in posted:
                frames = _frames(posted[member].data)
                received[member] = (len({f.get("id") for f in frames}), {f["text"] for f in frames})
        return {
            "rooms": sorted((r["connectionId"]["S"], r.get("room", {}).get("S")) for r in rows),
            "received": received,
        }

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:  # noqa: ARG002
        return f"a step failed after its retry: {self.replies}, {state}"

    def check_replies(self) -> list[str]:
        """The sender's reply adds up: reached + gone + failed = the two others."""
        sent = [r for r in self.replies if r.get("type") == "sent"]
        return [
            f"reply {r} does not account for 2 members"
            for r in sent
            if r["delivered"] + r["gone"] + r["failed"] != len(MEMBERS) - 1
        ]


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Harness, ModuleType]]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, **ENV}) as fault_harness:
        for name in [m for m in sys.modules if m.split(".")[0] == "chat"]:
            del sys.modules[name]
        with handler_package(ROOT / "lambda_src" / "websocket_api", ENV):
            yield fault_harness, importlib.import_module("chat.app")


def test_every_fault_still_delivers_the_message_once_to_every_member(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    chat = Chat(app)
    report = fault_harness.drive(chat)
    # GetItem, Query (refused); PutItem x3, UpdateItem x3, PostToConnection x2 (x 3 kinds).
    assert len(report.cases) == 2 + 8 * 3, str(report)
    assert report.violations == [], str(report)


@pytest.mark.parametrize("kind", ["refused", "lost"])
def test_a_failed_post_is_retried_once_and_the_reply_says_what_happened(
    faults: tuple[Harness, ModuleType], kind: str
) -> None:
    fault_harness, app = faults
    chat = Chat(app)
    chat.setup()
    with fault_harness.injector.armed(
        Fault("apigatewaymanagementapi", "PostToConnection", 1, kind)
    ):
        assert chat.run()
        posts = fault_harness.injector.calls[("apigatewaymanagementapi", "PostToConnection")]
    (sent,) = [r for r in chat.replies if r["type"] == "sent"]
    assert (sent["delivered"], sent["gone"], sent["failed"]) == (2, 0, 0)
    assert posts == 3  # bob's post tried twice, carol's once
    assert chat.visible()["received"] == {"bob": (1, {"hi"}), "carol": (1, {"hi"})}
    assert chat.check_replies() == []


def test_a_failed_room_query_sends_nothing_before_the_retry(
    faults: tuple[Harness, ModuleType],
) -> None:
    fault_harness, app = faults
    chat = Chat(app)
    chat.setup()
    for member in MEMBERS:
        chat._step(_event("$connect", member))
        chat._step(_event("join", member, {"action": "join", "room": "lobby"}))
    with fault_harness.injector.armed(Fault("dynamodb", "Query", 1, "refused")):
        with pytest.raises(Exception):  # noqa: B017, PT011 - the injected error, of either kind
            app.lambda_handler(
                _event("send", "alice", {"action": "send", "text": "hi"}), LambdaContext()
            )
        assert fault_harness.injector.calls[("apigatewaymanagementapi", "PostToConnection")] == 0


def test_the_clients_fit_the_function_timeout(faults: tuple[Harness, ModuleType]) -> None:
    """30 members, every post timing out at the client's limits, must be answered inside the
    function's 29 s: a post is one attempt of at most 1 s + 1 s, tried twice."""
    _, app = faults
    post = app.management.meta.config
    assert (post.connect_timeout, post.read_timeout, post.retries["total_max_attempts"]) == (
        1,
        1,
        1,
    )
    dynamodb = app.table.client.meta.config
    assert dynamodb.retries["total_max_attempts"] <= 3
    assert dynamodb.read_timeout <= 2


# -- the authorizer --------------------------------------------------------------------------

SECRET = "faults-chat-token-key"
AUTHORIZER_ENV = {
    "TOKEN_SECRET_ARN": SECRET,
    "MAX_TOKEN_LIFETIME_SECONDS": "3600",
    "POWERTOOLS_SERVICE_NAME": "websocket-chat-authorizer",
    "POWERTOOLS_METRICS_NAMESPACE": "ChatFaults",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_REGION": "us-east-1",
}


@dataclass
class Authorizer:
    """A valid token's connect: the secret read failing must refuse it (an invocation error:
    API Gateway answers 500), never Allow anyone else; the client's reconnect is let in."""

    module: ModuleType
    tokens: ModuleType
    effects: list[str] = field(default_factory=list)

    def setup(self) -> None:
        key = "k" * 64
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=SECRET, SecretString=key
        )
        self.module.parameters.clear_caches()  # a fresh execution environment
        token = self.tokens.sign(key.encode(), "alice", int(time.time()) + 600)
        self.event = {
            "type": "REQUEST",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/$connect",
            "queryStringParameters": {"token": token},
            "headers": {},
            "requestContext": {"routeKey": "$connect", "connectionId": "c1"},
        }
        self.effects = []

    def run(self) -> bool:
        try:
            reply = self.module.lambda_handler(self.event, LambdaContext())
        except Exception:
            self.effects.append("error")
            return False
        (statement,) = reply["policyDocument"]["Statement"]
        self.effects.append(f"{statement['Effect']}:{reply['principalId']}")
        return bool(statement["Effect"] == "Allow")

    def visible(self) -> list[str]:
        return self.effects[-1:]

    def half_done(self, state: Any, before: Any, reference: Any) -> str | None:  # noqa: ARG002
        return None if state == ["error"] else f"a failed secret read answered {state}"


@pytest.fixture
def authorizer_faults(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Harness, ModuleType, ModuleType]]:
    with harness(monkeypatch, {**FAKE_AWS_ENV, **AUTHORIZER_ENV}) as fault_harness:
        for name in [m for m in sys.modules if m.split(".")[0] == "chat"]:
            del sys.modules[name]
        with handler_package(ROOT / "lambda_src" / "websocket_api", AUTHORIZER_ENV):
            yield (
                fault_harness,
                importlib.import_module("chat.authorizer"),
                importlib.import_module("chat.tokens"),
            )


def test_a_failed_secret_read_refuses_the_connect_and_the_reconnect_is_let_in(
    authorizer_faults: tuple[Harness, ModuleType, ModuleType],
) -> None:
    fault_harness, module, tokens = authorizer_faults
    report = fault_harness.drive(Authorizer(module, tokens))
    assert len(report.cases) == 1, str(report)  # GetSecretValue (refused)
    assert report.violations == [], str(report)
