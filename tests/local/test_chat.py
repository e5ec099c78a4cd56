"""``python -m local chat`` driven by WebSocket clients: authorizer, routes, broadcast, cleanup."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.config import Config
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.local.conftest import Mode
from tests.support import ROOT

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def chat(start: Callable[..., Mode]) -> Mode:
    return start("WebSocketApi", "chat")


def _port(chat: Mode) -> str:
    return chat.url.rsplit(":", 1)[1].split("/")[0]


def _run_token(chat: Mode, user: str) -> subprocess.CompletedProcess[str]:
    helper = [sys.executable, "-m", "local", "chat", "token", "--user", user, "--port", _port(chat)]
    return subprocess.run(helper, cwd=ROOT, capture_output=True, text=True, timeout=30)


def _token(chat: Mode, user: str) -> str:
    result = _run_token(chat, user)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _subject(token: str) -> str:
    """The ``sub`` claim of a JWT, read without verifying (the authorizer verifies)."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


@pytest.fixture
def clients(chat: Mode) -> Iterator[Callable[[str], ClientConnection]]:
    with ExitStack() as stack:

        def _connect(user: str) -> ClientConnection:
            url = f"{chat.url}?token={_token(chat, user)}"
            return stack.enter_context(connect(url, open_timeout=TIMEOUT))

        yield _connect


def _call(client: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    client.send(json.dumps(frame))
    return dict(json.loads(client.recv(timeout=TIMEOUT)))


def test_two_clients_in_a_room_see_each_others_messages(clients):
    alice, bob = clients("alice"), clients("bob")
    assert _call(alice, {"action": "join", "room": "lobby"}) == {"type": "joined", "room": "lobby"}
    assert _call(bob, {"action": "join", "room": "lobby"})["type"] == "joined"
    assert _call(alice, {"action": "send", "text": "hi bob"})["delivered"] == 1
    received = json.loads(bob.recv(timeout=TIMEOUT))
    assert (received["from"], received["text"], received["room"]) == ("alice", "hi bob", "lobby")
    assert _call(bob, {"action": "send", "text": "hi alice"})["delivered"] == 1
    assert json.loads(alice.recv(timeout=TIMEOUT))["from"] == "bob"


def test_dropped_client_is_cleaned_up(clients):
    alice, carol = clients("alice"), clients("carol")
    _call(alice, {"action": "join", "room": "dropped"})
    _call(carol, {"action": "join", "room": "dropped"})
    carol.socket.close()  # no close frame: the connection just goes away
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if _call(alice, {"action": "send", "text": "anyone?"})["delivered"] == 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the dropped connection still receives messages")


def test_gone_connection_answers_410(chat):
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=chat.line("management endpoint"),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId="no-such-connection", Data=b"x")


def test_frame_without_a_room_gets_an_error_frame(clients):
    dave = clients("dave")
    reply = _call(dave, {"action": "send", "text": "hello?"})
    assert (reply["type"], reply["status"]) == ("error", 409)


@pytest.mark.parametrize(("query", "status"), [("", 401), ("?token=forged.token.value", 403)])
def test_connect_without_a_valid_token_is_refused(chat, query, status):
    with pytest.raises(InvalidStatus) as refused:
        connect(chat.url + query, open_timeout=TIMEOUT)
    assert refused.value.response.status_code == status


def test_token_user_reaches_the_minter_as_typed(chat):
    # "+" means a space in an unquoted query; "@" and ":" are allowed in a subject too.
    assert _subject(_token(chat, "ann+lee@example.com:1")) == "ann+lee@example.com:1"


@pytest.mark.parametrize("user", ["ann lee", "a&admin=1"])
def test_token_for_a_name_the_authorizer_refuses_is_refused_in_one_line(chat, user):
    # Unquoted, "ann lee" crashed the helper and "a&admin=1" minted a token for "a".
    result = _run_token(chat, user)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: --user {user!r}: subject must be")
    assert len(result.stderr.strip().splitlines()) == 1
