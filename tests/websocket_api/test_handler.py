"""The chat handler run against moto's DynamoDB and management API: the reply to the sender,
what the others in the room receive, and the connections table after."""

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
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from tests.support import (
    ROOT,
    LambdaContext,
    create_connections_table,
    handler_package,
    websocket_event,
)

TABLE = "chat-connections-test"
INDEX = "by-room"
CALLBACK_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/v1"
TTL = 7800


@pytest.fixture(scope="module")
def chat() -> Iterator[ModuleType]:
    """Import the handler once, the way Lambda does, with the environment the construct sets."""
    env = {
        "TABLE_NAME": TABLE,
        "ROOM_INDEX_NAME": INDEX,
        "CALLBACK_URL": CALLBACK_URL,
        "CONNECTION_TTL_SECONDS": str(TTL),
        "POWERTOOLS_SERVICE_NAME": "websocket-chat",
        "POWERTOOLS_METRICS_NAMESPACE": "WebSocketApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    with handler_package(ROOT / "lambda_src" / "websocket_api", env):
        yield importlib.import_module("chat.app")


@pytest.fixture
def table(aws_credentials: None, chat: ModuleType) -> Iterator[Any]:
    """The connections table as the construct defines it: key, sparse room index, TTL."""
    with mock_aws():
        create_connections_table(TABLE, INDEX)
        yield boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PostToConnection",
    )


@dataclass
class Management:
    """The real (moto) management client, except for connections told to be gone (410) or to
    fail otherwise - moto has no notion of a closed connection. Records what was delivered."""

    real: Any
    gone: set[str] = field(default_factory=set)
    failing: dict[str, Exception] = field(default_factory=dict)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:  # noqa: N803
        if ConnectionId in self.gone:
            raise _client_error("GoneException", 410)
        if ConnectionId in self.failing:
            raise self.failing[ConnectionId]
        self.real.post_to_connection(ConnectionId=ConnectionId, Data=Data)
        self.posts.append((ConnectionId, json.loads(Data)))

    def to(self, connection_id: str) -> list[dict[str, Any]]:
        return [frame for cid, frame in self.posts if cid == connection_id]


@pytest.fixture
def management(table: Any, chat: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Management:
    fake = Management(real=chat.management)
    monkeypatch.setattr(chat, "management", fake)
    return fake


_event = websocket_event


@pytest.fixture
def connect(chat: ModuleType, table: Any) -> Any:
    def _connect(connection_id: str, user: str = "alice") -> dict[str, Any]:
        result: dict[str, Any] = chat.lambda_handler(
            _event("$connect", connection_id, authorizer={"userId": user, "principalId": user}),
            LambdaContext(),
        )
        return result

    return _connect


@pytest.fixture
def send(chat: ModuleType, table: Any) -> Any:
    """Send one frame (a dict as JSON, or raw text) and return the frame sent back."""

    def _send(
        connection_id: str, frame: dict[str, Any] | str, route: str | None = None
    ) -> dict[str, Any]:
        body = frame if isinstance(frame, str) else json.dumps(frame)
        if route is None:
            action = frame.get("action") if isinstance(frame, dict) else None
            route = action if action in ("join", "send") else "$default"
        result = chat.lambda_handler(_event(route, connection_id, body), LambdaContext())
        assert result["statusCode"] == 200
        reply: dict[str, Any] = json.loads(result["body"])
        return reply

    return _send


@pytest.fixture
def handler_client(chat: ModuleType, table: Any) -> Any:
    """The DynamoDB client the handler itself uses, for injecting failures."""
    return chat.table.client


def _rows(table: Any) -> dict[str, dict[str, Any]]:
    return {r["connectionId"]: r for r in table.scan(ConsistentRead=True)["Items"]}


# -- $connect / $disconnect --------------------------------------------------------------------


def test_connect_records_the_user_and_an_expiry(connect: Any, table: Any) -> None:
    before = int(time.time())
    assert connect("c1", user="alice") == {"statusCode": 200}
    row = _rows(table)["c1"]
    assert row["userId"] == "alice"
    assert before <= row["connectedAt"] <= int(time.time())
    assert row["expires_at"] == row["connectedAt"] + TTL
    assert "room" not in row  # not in any room (nor the room index) until it joins


def test_connect_without_an_authorizer_is_anonymous(chat: ModuleType, table: Any) -> None:
    chat.lambda_handler(_event("$connect", "c1"), LambdaContext())
    assert _rows(table)["c1"]["userId"] == "anonymous"


def test_connect_with_iam_auth_records_the_caller_arn(chat: ModuleType, table: Any) -> None:
    arn = "arn:aws:iam::123456789012:user/bob"
    event = _event("$connect", "c1")
    event["requestContext"]["identity"]["userArn"] = arn
    chat.lambda_handler(event, LambdaContext())
    assert _rows(table)["c1"]["userId"] == arn


def test_a_retried_connect_keeps_the_first_record(connect: Any, table: Any) -> None:
    connect("c1", user="alice")
    assert connect("c1", user="mallory") == {"statusCode": 200}
    assert _rows(table)["c1"]["userId"] == "alice"


def test_disconnect_deletes_the_connection(chat: ModuleType, connect: Any, table: Any) -> None:
    connect("c1")
    connect("c2")
    result = chat.lambda_handler(_event("$disconnect", "c1"), LambdaContext())
    assert result == {"statusCode": 200}
    assert set(_rows(table)) == {"c2"}


def test_disconnect_of_an_unknown_connection_succeeds(chat: ModuleType, table: Any) -> None:
    assert chat.lambda_handler(_event("$disconnect", "nope"), LambdaContext()) == {
        "statusCode": 200
    }


# -- join ----------------------------------------------------------------------------------------


def test_join_puts_the_connection_in_the_room(connect: Any, send: Any, table: Any) -> None:
    connect("c1")
    assert send("c1", {"action": "join", "room": "lobby"}) == {"type": "joined", "room": "lobby"}
    assert _rows(table)["c1"]["room"] == "lobby"


def test_joining_another_room_leaves_the_first(connect: Any, send: Any, table: Any) -> None:
    connect("c1")
    send("c1", {"action": "join", "room": "lobby"})
    send("c1", {"action": "join", "room": "dev-team"})
    assert _rows(table)["c1"]["room"] == "dev-team"


def test_join_from_a_closed_connection_creates_nothing(send: Any, table: Any) -> None:
    reply = send("ghost", {"action": "join", "room": "lobby"})
    assert reply == {
        "type": "error",
        "status": 410,
        "message": "this connection is closed; reconnect",
    }
    assert _rows(table) == {}


# -- send / broadcast ----------------------------------------------------------------------------


@pytest.fixture
def lobby(connect: Any, send: Any) -> list[str]:
    """Alice (c1), Bob (c2) and Carol (c3) in the lobby; Dave (c4) in another room."""
    for cid, user in (("c1", "alice"), ("c2", "bob"), ("c3", "carol"), ("c4", "dave")):
        connect(cid, user=user)
    for cid in ("c1", "c2", "c3"):
        send(cid, {"action": "join", "room": "lobby"})
    send("c4", {"action": "join", "room": "elsewhere"})
    return ["c1", "c2", "c3"]


def test_send_reaches_the_others_in_the_room_and_not_the_sender(
    lobby: list[str], management: Management, send: Any
) -> None:
    reply = send("c1", {"action": "send", "text": "hello"})
    message_id = reply.pop("id")
    assert reply == {"type": "sent", "room": "lobby", "delivered": 2, "gone": 0, "failed": 0}
    assert sorted(cid for cid, _ in management.posts) == ["c2", "c3"]
    (frame,) = management.to("c2")
    assert (frame["type"], frame["id"]) == ("message", message_id)
    assert (frame["room"], frame["from"], frame["text"]) == ("lobby", "alice", "hello")
    assert frame["sentAt"].endswith("Z")
    assert management.to("c1") == []
    assert management.to("c4") == []


def test_send_posts_through_the_management_api(
    lobby: list[str], chat: ModuleType, send: Any
) -> None:
    """No fake: the module's own boto3 client, against moto's management API."""
    send("c1", {"action": "send", "text": "via moto"})
    connections = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections
    assert json.loads(connections["c2"].data)["text"] == "via moto"
    assert json.loads(connections["c3"].data)["text"] == "via moto"
    assert "c4" not in connections


def test_a_gone_connection_is_deleted_and_the_rest_still_receive(
    lobby: list[str], management: Management, send: Any, table: Any
) -> None:
    management.gone.add("c2")
    reply = send("c1", {"action": "send", "text": "anyone?"})
    assert (reply["delivered"], reply["gone"], reply["failed"]) == (1, 1, 0)
    assert [f["text"] for f in management.to("c3")] == ["anyone?"]
    assert "c2" not in _rows(table)
    assert {"c1", "c3", "c4"} <= set(_rows(table))


def test_other_delivery_failures_neither_fail_the_broadcast_nor_delete(
    lobby: list[str], management: Management, send: Any, table: Any
) -> None:
    management.failing["c2"] = _client_error("LimitExceededException", 429)
    management.failing["c3"] = ReadTimeoutError(endpoint_url=CALLBACK_URL)
    reply = send("c1", {"action": "send", "text": "hi"})
    assert (reply["delivered"], reply["gone"], reply["failed"]) == (0, 0, 2)
    assert {"c2", "c3"} <= set(_rows(table))  # maybe alive: TTL or a later 410 decides


def test_many_gone_connections_are_deleted_in_batches(
    connect: Any,
    send: Any,
    management: Management,
    table: Any,
    handler_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"c{i:03}" for i in range(60)]  # more than two BatchWriteItem calls of 25
    for cid in ids:
        connect(cid)
        send(cid, {"action": "join", "room": "big"})
    management.gone.update(ids[1:])
    batches: list[int] = []
    real_batch_write = handler_client.batch_write_item

    def counting(**kwargs: Any) -> Any:
        batches.append(sum(len(v) for v in kwargs["RequestItems"].values()))
        return real_batch_write(**kwargs)

    monkeypatch.setattr(handler_client, "batch_write_item", counting)
    reply = send(ids[0], {"action": "send", "text": "bye"})
    assert reply["delivered"] == 0
    assert set(_rows(table)) == {ids[0]}
    assert batches == [25, 25, 9]


def test_unprocessed_deletes_are_retried(
    lobby: list[str],
    management: Management,
    send: Any,
    table: Any,
    handler_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DynamoDB may leave part of a BatchWriteItem unprocessed (throttling): it is sent again."""
    management.gone.update({"c2", "c3"})
    calls: list[list[str]] = []
    real_batch_write = handler_client.batch_write_item

    def throttling_once(**kwargs: Any) -> Any:
        ((name, requests),) = kwargs["RequestItems"].items()
        calls.append(sorted(r["DeleteRequest"]["Key"]["connectionId"]["S"] for r in requests))
        if len(calls) > 1:
            return real_batch_write(**kwargs)
        real_batch_write(RequestItems={name: requests[:1]})
        return {"UnprocessedItems": {name: requests[1:]}}

    monkeypatch.setattr(handler_client, "batch_write_item", throttling_once)
    reply = send("c1", {"action": "send", "text": "hi"})
    assert reply["delivered"] == 0
    assert calls[0] == ["c2", "c3"]
    assert len(calls) == 2
    assert len(calls[1]) == 1
    assert calls[1][0] in calls[0]
    assert set(_rows(table)) == {"c1", "c4"}


def test_a_failed_cleanup_does_not_fail_the_broadcast(
    lobby: list[str],
    management: Management,
    send: Any,
    table: Any,
    handler_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    management.gone.add("c2")

    def broken(**kwargs: Any) -> Any:
        raise _client_error("InternalServerError", 500)

    monkeypatch.setattr(handler_client, "batch_write_item", broken)
    reply = send("c1", {"action": "send", "text": "hi"})
    assert reply["delivered"] == 1
    assert "c2" in _rows(table)  # left for TTL


def test_expired_rows_are_skipped(
    lobby: list[str], management: Management, send: Any, table: Any
) -> None:
    """TTL deletion can lag by days; a row past its expiry gets no message."""
    table.update_item(
        Key={"connectionId": "c3"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    reply = send("c1", {"action": "send", "text": "hi"})
    assert reply["delivered"] == 1
    assert management.to("c3") == []


def test_send_before_joining_is_refused(connect: Any, send: Any, management: Management) -> None:
    connect("c1")
    reply = send("c1", {"action": "send", "text": "hi"})
    assert reply["type"] == "error"
    assert reply["status"] == 409
    assert "join a room first" in reply["message"]
    assert management.posts == []


def test_a_closed_connection_cannot_send(send: Any, management: Management) -> None:
    reply = send("ghost", {"action": "send", "text": "hi"})
    assert reply["status"] == 410
    assert management.posts == []


def test_a_throttled_table_is_a_retryable_error(
    lobby: list[str],
    send: Any,
    table: Any,
    management: Management,
    handler_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def throttled(**kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "GetItem",
        )

    monkeypatch.setattr(handler_client, "get_item", throttled)
    reply = send("c1", {"action": "send", "text": "hi"})
    assert reply == {
        "type": "error",
        "status": 503,
        "message": "the service is busy; retry with backoff",
    }
    assert management.posts == []


def test_an_unexpected_error_is_raised_for_the_alarms(
    lobby: list[str],
    chat: ModuleType,
    table: Any,
    handler_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetItem")

    monkeypatch.setattr(handler_client, "get_item", broken)
    event = _event("send", "c1", json.dumps({"action": "send", "text": "hi"}))
    with pytest.raises(ClientError):
        chat.lambda_handler(event, LambdaContext())


# -- bad frames: an error frame back, nothing changed, nothing sent ------------------------------


BAD_FRAMES = [
    pytest.param("{not json", "$default", 400, "frame is not valid JSON", id="not-json"),
    pytest.param("", "$default", 400, "frame is not valid JSON", id="empty"),
    # The items API's and the web app's strict JSON: a lone surrogate escape is no character
    # (it was broadcast), and NaN is Python's extension.
    pytest.param(
        '{"action": "send", "text": "\\ud800"}',
        "send",
        400,
        "frame is not valid JSON",
        id="send-lone-surrogate",
    ),
    pytest.param(
        '{"action": "join", "room": "a", "n": NaN}', "join", 400, "not valid JSON", id="nan"
    ),
    pytest.param('["join"]', "$default", 400, "frame must be a JSON object", id="array"),
    pytest.param('{"room": "lobby"}', "$default", 400, 'frame has no "action"', id="no-action"),
    pytest.param('{"action": "dance"}', "$default", 400, "unknown action 'dance'", id="unknown"),
    pytest.param('{"action": null}', "$default", 400, "unknown action None", id="action-null"),
    pytest.param('{"action": 7}', "$default", 400, "unknown action 7", id="action-not-string"),
    pytest.param('{"action": "join"}', "join", 422, "room: Field required", id="join-no-room"),
    pytest.param(
        '{"action": "join", "room": "no spaces!"}', "join", 422, "room", id="join-bad-room"
    ),
    pytest.param('{"action": "join", "room": 5}', "join", 422, "room", id="join-room-not-string"),
    pytest.param(
        '{"action": "join", "room": "a", "as": "admin"}', "join", 422, "as", id="join-extra-field"
    ),
    pytest.param('{"action": "send"}', "send", 422, "text: Field required", id="send-no-text"),
    pytest.param('{"action": "send", "text": ""}', "send", 422, "text", id="send-empty-text"),
    pytest.param('{"action": "send", "text": 5}', "send", 422, "text", id="send-text-not-string"),
    pytest.param(
        json.dumps({"action": "send", "text": "x" * 2001}), "send", 422, "text", id="send-long-text"
    ),
    pytest.param(
        json.dumps({"action": "send", "text": "x" * 9000}),
        "send",
        413,
        "frame exceeds 8192 bytes",
        id="oversize",
    ),
]


@pytest.mark.parametrize(("body", "route", "status", "message"), BAD_FRAMES)
def test_bad_frames_get_an_error_frame_and_change_nothing(
    lobby: list[str],
    send: Any,
    table: Any,
    management: Management,
    body: str,
    route: str,
    status: int,
    message: str,
) -> None:
    before = _rows(table)
    reply = send("c1", body, route=route)
    assert reply["type"] == "error"
    assert reply["status"] == status
    assert message in reply["message"]
    assert _rows(table) == before
    assert management.posts == []


def test_base64_frames_are_decoded(
    lobby: list[str], chat: ModuleType, management: Management
) -> None:
    import base64

    body = base64.b64encode(json.dumps({"action": "send", "text": "bin"}).encode()).decode()
    event = _event("send", "c1", body)
    event["isBase64Encoded"] = True
    result = chat.lambda_handler(event, LambdaContext())
    assert json.loads(result["body"])["delivered"] == 2


def test_a_binary_frame_that_is_not_base64_is_refused_and_changes_nothing(
    lobby: list[str], chat: ModuleType, management: Management, table: Any
) -> None:
    before = _rows(table)
    event = _event("$default", "c1", "not base64!")
    event["isBase64Encoded"] = True
    reply = json.loads(chat.lambda_handler(event, LambdaContext())["body"])
    assert reply == {"type": "error", "status": 400, "message": "frame is not valid base64"}
    assert _rows(table) == before
    assert management.posts == []


def test_a_frame_routed_to_default_is_still_handled_by_its_action(
    lobby: list[str], send: Any, management: Management
) -> None:
    reply = send("c1", {"action": "send", "text": "hi"}, route="$default")
    assert reply["delivered"] == 2


# -- room membership across query pages -------------------------------------------------------


@dataclass
class PagedClient:
    """A client whose index query returns one member per page, as DynamoDB does past 1 MB."""

    room: list[str]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        start = int(kwargs.get("ExclusiveStartKey", {}).get("n", 0))
        page: dict[str, Any] = {"Items": [{"connectionId": {"S": self.room[start]}}]}
        if start + 1 < len(self.room):
            page["LastEvaluatedKey"] = {"n": start + 1}
        return page


def test_members_reads_every_page_of_the_room(chat: ModuleType) -> None:
    connections = sys.modules["chat.connections"]
    client = PagedClient(room=["a", "b", "c"])
    table = connections.Table(client, TABLE)
    assert list(connections.members(table, INDEX, "lobby", now=0)) == ["a", "b", "c"]
    assert len(client.calls) == 3
    assert all(call["IndexName"] == INDEX for call in client.calls)
    assert [call.get("ExclusiveStartKey") for call in client.calls] == [None, {"n": 1}, {"n": 2}]
