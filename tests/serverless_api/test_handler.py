"""The items handler run end to end against moto's DynamoDB: status, body, and the table after."""

from __future__ import annotations

import base64
import importlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support import ROOT

TABLE = "items-test"


@dataclass
class FakeContext:
    function_name: str = "items"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:items"
    aws_request_id: str = "req-1"


@pytest.fixture(scope="module")
def handler_module() -> Iterator[ModuleType]:
    """Import the handler once, the way Lambda does, with the environment the construct sets."""
    env = {
        "TABLE_NAME": TABLE,
        "POWERTOOLS_SERVICE_NAME": "items-api",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.syspath_prepend(str(ROOT / "lambda_src" / "serverless_api"))
        yield importlib.import_module("items.app")
    for name in [m for m in sys.modules if m == "items" or m.startswith("items.")]:
        del sys.modules[name]


@pytest.fixture
def table(aws_credentials: None, handler_module: ModuleType) -> Iterator[Any]:
    with mock_aws():
        created = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield created


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture
def call(table: Any, handler_module: ModuleType) -> Any:
    def _call(
        method: str,
        path: str,
        body: Any = None,
        *,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "multiValueHeaders": {},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "requestId": "req-1",
                "stage": "v1",
                "httpMethod": method,
                "path": f"/v1{path}",
                "resourcePath": path,
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": text,
            "isBase64Encoded": False,
        }
        result = handler_module.lambda_handler(event, FakeContext())
        raw = result.get("body") or ""
        headers = dict(result.get("headers") or {})
        headers.update(
            {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
        )
        return Reply(result["statusCode"], json.loads(raw) if raw else None, headers)

    return _call


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan(ConsistentRead=True)["Items"])


VALID = {"name": "Widget", "description": "A widget", "quantity": 3, "tags": ["a", "b"]}


# -- POST /items -----------------------------------------------------------------------------


def test_create_returns_201_with_the_stored_item(call: Any, table: Any) -> None:
    reply = call("POST", "/items", VALID)
    assert reply.status == 201
    assert reply.body["name"] == "Widget"
    assert reply.body["quantity"] == 3
    assert reply.body["tags"] == ["a", "b"]
    assert reply.body["version"] == 1
    assert reply.headers["Location"] == f"/items/{reply.body['id']}"
    (stored,) = _items(table)
    assert stored["id"] == reply.body["id"]
    assert stored["version"] == 1


def test_create_fills_defaults(call: Any) -> None:
    reply = call("POST", "/items", {"name": "Bare"})
    assert reply.status == 201
    assert (reply.body["description"], reply.body["quantity"], reply.body["tags"]) == ("", 0, [])
    assert "expires_at" not in reply.body


@pytest.mark.parametrize(
    ("raw_body", "status", "message"),
    [
        ("{not json", 400, "body is not valid JSON"),
        ("[1, 2]", 400, "body must be a JSON object"),
        ("", 400, "a JSON body is required"),
        ('{"name": "x", "quantity": "5"}', 422, "quantity"),
        ('{"name": "x", "quantity": 1.5}', 422, "quantity"),
        ('{"name": "x", "quantity": -1}', 422, "quantity"),
        ('{"description": "no name"}', 422, "name"),
        ('{"name": ""}', 422, "name"),
        ('{"name": "x", "colour": "red"}', 422, "colour"),
        ('{"name": "x", "tags": ["a", "a"]}', 422, "tags must be unique"),
        ('{"name": "x", "tags": "a"}', 422, "tags"),
        ('{"name": "x", "expires_at": 1}', 422, "expires_at must be in the future"),
        ('{"name": "x", "version": 1}', 422, "version"),
    ],
)
def test_create_rejects_bad_bodies_and_writes_nothing(
    call: Any, table: Any, raw_body: str, status: int, message: str
) -> None:
    reply = call("POST", "/items", raw_body=raw_body)
    assert reply.status == status
    assert message in reply.body["message"]
    assert _items(table) == []


def test_create_rejects_an_oversize_body(call: Any, table: Any) -> None:
    reply = call("POST", "/items", {"name": "x", "description": "d" * 20_000})
    assert reply.status == 413
    assert "exceeds 16384 bytes" in reply.body["message"]
    assert _items(table) == []


def test_create_accepts_a_future_expiry(call: Any, table: Any) -> None:
    expires = int(time.time()) + 3600
    reply = call("POST", "/items", {"name": "x", "expires_at": expires})
    assert reply.body["expires_at"] == expires
    assert _items(table)[0]["expires_at"] == expires


def test_create_with_an_idempotency_key_replays_instead_of_duplicating(
    call: Any, table: Any
) -> None:
    first = call("POST", "/items", VALID, headers={"Idempotency-Key": "order-42"})
    again = call("POST", "/items", VALID, headers={"Idempotency-Key": "order-42"})
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    assert len(_items(table)) == 1


def test_reusing_an_idempotency_key_with_another_body_is_a_conflict(call: Any, table: Any) -> None:
    call("POST", "/items", VALID, headers={"Idempotency-Key": "order-42"})
    reply = call(
        "POST", "/items", {**VALID, "quantity": 4}, headers={"Idempotency-Key": "order-42"}
    )
    assert reply.status == 409
    (stored,) = _items(table)
    assert stored["quantity"] == 3


def test_an_overlong_idempotency_key_is_rejected(call: Any, table: Any) -> None:
    reply = call("POST", "/items", VALID, headers={"Idempotency-Key": "k" * 129})
    assert reply.status == 400
    assert _items(table) == []


# -- GET /items/{id} ---------------------------------------------------------------------------


def test_get_returns_the_item(call: Any) -> None:
    created = call("POST", "/items", VALID).body
    reply = call("GET", f"/items/{created['id']}")
    assert (reply.status, reply.body) == (200, created)


def test_get_unknown_item_is_404(call: Any) -> None:
    reply = call("GET", "/items/3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f")
    assert reply.status == 404
    assert "not found" in reply.body["message"]


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "3F2C1E9A-6B1D-4C8E-9F3A-2B7D5E4C1A0F", "1"])
def test_bad_ids_are_400(call: Any, bad_id: str) -> None:
    for method in ("GET", "DELETE"):
        reply = call(method, f"/items/{bad_id}")
        assert reply.status == 400
        assert "id must be a UUID" in reply.body["message"]


# -- GET /items (pagination) -------------------------------------------------------------------


def test_listing_pages_through_every_item_once(call: Any) -> None:
    created = {call("POST", "/items", {"name": f"item {i}"}).body["id"] for i in range(7)}
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"next_token": token} if token else {})}
        reply = call("GET", "/items", query=query)
        assert reply.status == 200
        assert len(reply.body["items"]) <= 3
        seen += [item["id"] for item in reply.body["items"]]
        token = reply.body["next_token"]
        pages += 1
        if token is None:
            break
        assert pages < 10, "pagination does not terminate"
    assert sorted(seen) == sorted(created)


def test_listing_an_empty_table(call: Any) -> None:
    reply = call("GET", "/items")
    assert (reply.status, reply.body) == (200, {"items": [], "next_token": None})


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5"])
def test_listing_rejects_bad_limits(call: Any, limit: str) -> None:
    reply = call("GET", "/items", query={"limit": limit})
    assert reply.status == 400
    assert "limit must be an integer from 1 to 100" in reply.body["message"]


def _b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "%%%not-base64%%%",
        _b64("not json"),
        _b64('["a list"]'),
        _b64('{"v": 1, "id": "not-a-uuid"}'),
        _b64('{"v": 2, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"}'),
        _b64('{"v": 1, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f", "extra": 1}'),
        _b64('{"v": 1, "id": {"S": "injected"}}'),
        "A" * 300,
    ],
)
def test_listing_rejects_bad_or_forged_tokens(call: Any, token: str) -> None:
    reply = call("GET", "/items", query={"next_token": token})
    assert reply.status == 400
    assert reply.body["message"] == "next_token is not a token this API issued"


def test_listing_rejects_unknown_query_parameters(call: Any) -> None:
    reply = call("GET", "/items", query={"limt": "5"})
    assert reply.status == 400
    assert "limt" in reply.body["message"]


# -- PUT /items/{id} ---------------------------------------------------------------------------


def test_replace_with_the_current_version_bumps_it(call: Any, table: Any) -> None:
    item = call("POST", "/items", VALID).body
    reply = call("PUT", f"/items/{item['id']}", {"name": "Renamed", "quantity": 9, "version": 1})
    assert reply.status == 200
    assert (reply.body["name"], reply.body["quantity"], reply.body["version"]) == ("Renamed", 9, 2)
    assert reply.body["tags"] == []  # a replace, not a merge
    assert reply.body["created_at"] == item["created_at"]
    (stored,) = _items(table)
    assert (stored["name"], stored["version"]) == ("Renamed", 2)


def test_a_stale_replace_is_409_and_changes_nothing(call: Any, table: Any) -> None:
    item = call("POST", "/items", VALID).body
    assert call("PUT", f"/items/{item['id']}", {"name": "First", "version": 1}).status == 200
    reply = call("PUT", f"/items/{item['id']}", {"name": "Second", "version": 1})
    assert reply.status == 409
    assert "item is at version 2" in reply.body["message"]
    (stored,) = _items(table)
    assert (stored["name"], stored["version"]) == ("First", 2)


def test_replace_of_a_missing_item_is_404_and_creates_nothing(call: Any, table: Any) -> None:
    reply = call(
        "PUT", "/items/3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f", {"name": "Ghost", "version": 1}
    )
    assert reply.status == 404
    assert _items(table) == []


def test_replace_without_a_version_is_422(call: Any, table: Any) -> None:
    item = call("POST", "/items", VALID).body
    reply = call("PUT", f"/items/{item['id']}", {"name": "No version"})
    assert reply.status == 422
    assert "version" in reply.body["message"]
    assert _items(table)[0]["name"] == "Widget"


def test_replace_can_clear_an_expiry(call: Any, table: Any) -> None:
    item = call("POST", "/items", {"name": "x", "expires_at": int(time.time()) + 60}).body
    reply = call("PUT", f"/items/{item['id']}", {"name": "x", "version": 1})
    assert "expires_at" not in reply.body
    assert "expires_at" not in _items(table)[0]


# -- DELETE /items/{id} ------------------------------------------------------------------------


def test_delete_removes_the_item_and_a_second_delete_is_404(call: Any, table: Any) -> None:
    item = call("POST", "/items", VALID).body
    first = call("DELETE", f"/items/{item['id']}")
    assert (first.status, first.body) == (204, None)
    assert _items(table) == []
    assert call("DELETE", f"/items/{item['id']}").status == 404


# -- Routing and failures ----------------------------------------------------------------------


def test_unknown_route_is_a_json_404(call: Any) -> None:
    reply = call("GET", "/nothing-here")
    assert reply.status == 404
    assert reply.body["message"] == "no route for GET /nothing-here"


def test_unknown_method_on_a_known_path_is_405_with_allow(call: Any) -> None:
    reply = call("PATCH", "/items")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST"


def test_dynamodb_throttling_is_a_503_with_retry_after(
    call: Any, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "PutItem",
        )

    monkeypatch.setattr(handler_module.table, "put_item", throttled)
    reply = call("POST", "/items", VALID)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"


def test_an_unexpected_error_is_a_json_500_not_a_crash(
    call: Any, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(handler_module.service, "get_item", broken)
    reply = call("GET", "/items/3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f")
    assert (reply.status, reply.body) == (500, {"statusCode": 500, "message": "internal error"})


def test_an_event_that_is_not_an_api_event_is_a_400(table: Any, handler_module: ModuleType) -> None:
    result = handler_module.lambda_handler({"unexpected": True}, FakeContext())
    assert result["statusCode"] == 400
