"""The items handler run end to end against moto's DynamoDB: status, body, and the table after."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from tests.support import LambdaContext


def _items(table: Any) -> list[dict[str, Any]]:
    return sorted(table.scan(ConsistentRead=True)["Items"], key=lambda item: str(item["id"]))


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


# -- GET /items/{id} ---------------------------------------------------------------------------


def test_get_returns_the_item(call: Any) -> None:
    created = call("POST", "/items", VALID).body
    reply = call("GET", f"/items/{created['id']}")
    assert (reply.status, reply.body) == (200, created)


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


# -- Bad input: a clear JSON 4xx, and the table exactly as it was -----------------------------

# The seeded item: at version 2, created with Idempotency-Key "order-42" and body SEED_BODY.
SEED_BODY = {"name": "Seed", "quantity": 1}
MISSING = "9b6e2f4a-1c3d-4e5f-8a7b-0c1d2e3f4a5b"  # a well-formed id that is not in the table


@pytest.fixture
def seeded(call: Any, table: Any) -> str:
    """One stored item, replaced once so it is at version 2; returns its id."""
    item = call("POST", "/items", SEED_BODY, headers={"Idempotency-Key": "order-42"}).body
    assert call("PUT", f"/items/{item['id']}", {**SEED_BODY, "version": 1}).status == 200
    return str(item["id"])


def _b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Bad:
    """A bad request. ``{id}`` in the path stands for the seeded item's id."""

    method: str
    path: str
    status: int
    message: str  # a fragment the error message must contain
    body: Any = None
    raw_body: str | None = None
    base64_encoded: bool = False
    query: dict[str, str] | None = None
    headers: dict[str, str] | None = None


_OVERSIZE = {"name": "x", "description": "d" * 20_000}
_TOKEN_ERROR = "next_token is not a token this API issued"
_LIMIT_ERROR = "limit must be an integer from 1 to 100"
_ID_ERROR = "id must be a UUID"

BAD_REQUESTS: dict[str, Bad] = {
    # malformed bodies
    "post-malformed-json": Bad("POST", "/items", 400, "not valid JSON", raw_body="{not json"),
    "post-json-array": Bad("POST", "/items", 400, "must be a JSON object", raw_body="[1, 2]"),
    "post-json-string": Bad("POST", "/items", 400, "must be a JSON object", raw_body='"x"'),
    "post-empty-body": Bad("POST", "/items", 400, "a JSON body is required", raw_body=""),
    "post-blank-body": Bad("POST", "/items", 400, "a JSON body is required", raw_body="  \n"),
    "post-bad-base64": Bad(
        "POST", "/items", 400, "not valid base64", raw_body="!!not base64!!", base64_encoded=True
    ),
    "post-base64-not-utf8": Bad(
        "POST",
        "/items",
        400,
        "not valid JSON",
        raw_body=base64.b64encode(b"\xff\xfe{}").decode(),
        base64_encoded=True,
    ),
    "post-oversize": Bad("POST", "/items", 413, "exceeds 16384 bytes", body=_OVERSIZE),
    # Nesting deeper than the parser's recursion limit: a RecursionError, not a ValueError.
    **{
        f"{method.lower()}-nested-{name}": Bad(method, path, 400, "not valid JSON", raw_body=nested)
        for method, path in (("POST", "/items"), ("PUT", "/items/{id}"))
        for name, nested in {
            "arrays": "[" * 12_000,
            "objects": '{"a":' * 3_000,
            "closed-arrays": "[" * 5_000 + "]" * 5_000,
        }.items()
    },
    # JSON is UTF-8 (RFC 8259); json.loads would sniff UTF-16 and UTF-32 from bytes. ASCII text
    # as UTF-16-LE without a BOM is valid UTF-8 (with NULs), so it fails as JSON instead.
    **{
        f"post-{codec}": Bad(
            "POST",
            "/items",
            400,
            "not valid JSON" if codec == "utf-16-le" else "not valid UTF-8",
            raw_body=base64.b64encode(json.dumps(VALID).encode(codec)).decode(),
            base64_encoded=True,
        )
        for codec in ("utf-16", "utf-16-le", "utf-32")
    },
    # Not JSON: NaN and Infinity are Python's extension, and a lone surrogate is no character.
    "post-nan": Bad(
        "POST", "/items", 400, "not valid JSON", raw_body='{"name": "x", "quantity": NaN}'
    ),
    "post-infinity": Bad(
        "POST", "/items", 400, "not valid JSON", raw_body='{"name": "x", "expires_at": Infinity}'
    ),
    "post-lone-surrogate": Bad(
        "POST", "/items", 400, "not valid JSON", raw_body='{"name": "\\ud800"}'
    ),
    "put-lone-surrogate-tag": Bad(
        "PUT",
        "/items/{id}",
        400,
        "not valid JSON",
        raw_body='{"name": "x", "version": 2, "tags": ["\\udfff"]}',
    ),
    "post-huge-integer": Bad(
        "POST",
        "/items",
        400,
        "not valid JSON",
        raw_body='{"name": "x", "quantity": ' + "9" * 5000 + "}",
    ),
    # Content-Type: API Gateway checks its JSON model only for JSON bodies.
    **{
        f"post-content-type-{name}": Bad(
            "POST",
            "/items",
            415,
            "Content-Type must be application/json",
            VALID,
            headers={"Content-Type": value},
        )
        for name, value in {
            "text": "text/plain",
            "form": "application/x-www-form-urlencoded",
            "latin1": "application/json; charset=iso-8859-1",
            "json-prefix": "application/jsonx",
        }.items()
    },
    "put-content-type-text": Bad(
        "PUT",
        "/items/{id}",
        415,
        "Content-Type",
        {"name": "x", "version": 2},
        headers={"Content-Type": "text/plain"},
    ),
    # wrong types (strict: never coerced)
    "post-quantity-string": Bad("POST", "/items", 422, "quantity", {"name": "x", "quantity": "5"}),
    "post-quantity-float": Bad("POST", "/items", 422, "quantity", {"name": "x", "quantity": 1.5}),
    "post-quantity-bool": Bad("POST", "/items", 422, "quantity", {"name": "x", "quantity": True}),
    "post-name-number": Bad("POST", "/items", 422, "name", {"name": 5}),
    "post-description-null": Bad(
        "POST", "/items", 422, "description", {"name": "x", "description": None}
    ),
    "post-tags-string": Bad("POST", "/items", 422, "tags", {"name": "x", "tags": "a"}),
    "post-tag-number": Bad("POST", "/items", 422, "tags", {"name": "x", "tags": [1]}),
    # missing and extra fields
    "post-missing-name": Bad("POST", "/items", 422, "name", {"description": "no name"}),
    "post-extra-field": Bad("POST", "/items", 422, "colour", {"name": "x", "colour": "red"}),
    "post-client-id": Bad("POST", "/items", 422, "id", {"name": "x", "id": MISSING}),
    "post-version": Bad("POST", "/items", 422, "version", {"name": "x", "version": 1}),
    # values out of range
    "post-empty-name": Bad("POST", "/items", 422, "name", {"name": ""}),
    "post-blank-name": Bad("POST", "/items", 422, "name", {"name": "   "}),
    "post-long-name": Bad("POST", "/items", 422, "name", {"name": "n" * 201}),
    "post-negative-quantity": Bad("POST", "/items", 422, "quantity", {"name": "x", "quantity": -1}),
    "post-huge-quantity": Bad(
        "POST", "/items", 422, "quantity", {"name": "x", "quantity": 1_000_000_001}
    ),
    "post-duplicate-tags": Bad(
        "POST", "/items", 422, "tags must be unique", {"name": "x", "tags": ["a", "a"]}
    ),
    "post-too-many-tags": Bad(
        "POST", "/items", 422, "tags", {"name": "x", "tags": [str(i) for i in range(21)]}
    ),
    "post-long-tag": Bad("POST", "/items", 422, "tags", {"name": "x", "tags": ["t" * 51]}),
    "post-past-expiry": Bad(
        "POST", "/items", 422, "expires_at must be in the future", {"name": "x", "expires_at": 1}
    ),
    # 10**40 has more digits than a DynamoDB number holds: a 500 at write time if not refused.
    "post-huge-expiry": Bad(
        "POST", "/items", 422, "expires_at", {"name": "x", "expires_at": 10**40}
    ),
    # headers
    "post-long-idempotency-key": Bad(
        "POST", "/items", 400, "Idempotency-Key", VALID, headers={"Idempotency-Key": "k" * 129}
    ),
    # A structured-field string: printable ASCII. uuid5() of a lone surrogate raised a 500.
    **{
        f"post-idempotency-key-{name}": Bad(
            "POST", "/items", 400, "Idempotency-Key", VALID, headers={"Idempotency-Key": key}
        )
        for name, key in {
            "surrogate": "\ud800",
            "newline": "order\n42",
            "non-ascii": "ordre-\u00e9",
        }.items()
    },
    "post-reused-idempotency-key": Bad(
        "POST", "/items", 409, "already used", VALID, headers={"Idempotency-Key": "order-42"}
    ),
    # PUT: every kind of bad body, and the optimistic-concurrency check
    "put-malformed-json": Bad("PUT", "/items/{id}", 400, "not valid JSON", raw_body="{"),
    "put-empty-body": Bad("PUT", "/items/{id}", 400, "a JSON body is required", raw_body=""),
    "put-oversize": Bad("PUT", "/items/{id}", 413, "exceeds", body={**_OVERSIZE, "version": 2}),
    "put-missing-version": Bad("PUT", "/items/{id}", 422, "version", {"name": "x"}),
    "put-version-string": Bad("PUT", "/items/{id}", 422, "version", {"name": "x", "version": "2"}),
    "put-version-zero": Bad("PUT", "/items/{id}", 422, "version", {"name": "x", "version": 0}),
    "put-huge-version": Bad("PUT", "/items/{id}", 422, "version", {"name": "x", "version": 10**40}),
    "put-extra-field": Bad(
        "PUT", "/items/{id}", 422, "created_at", {"name": "x", "version": 2, "created_at": "now"}
    ),
    "put-stale-version": Bad(
        "PUT", "/items/{id}", 409, "item is at version 2", {"name": "x", "version": 1}
    ),
    "put-future-version": Bad(
        "PUT", "/items/{id}", 409, "item is at version 2", {"name": "x", "version": 3}
    ),
    "put-missing-item": Bad(
        "PUT", f"/items/{MISSING}", 404, "not found", {"name": "x", "version": 1}
    ),
    "put-bad-id": Bad("PUT", "/items/not-a-uuid", 400, _ID_ERROR, {"name": "x", "version": 1}),
    # ids
    "get-bad-id": Bad("GET", "/items/not-a-uuid", 400, _ID_ERROR),
    "get-uppercase-id": Bad("GET", "/items/3F2C1E9A-6B1D-4C8E-9F3A-2B7D5E4C1A0F", 400, _ID_ERROR),
    "get-braced-id": Bad("GET", "/items/{3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f}", 400, _ID_ERROR),
    "get-missing-item": Bad("GET", f"/items/{MISSING}", 404, "not found"),
    "delete-bad-id": Bad("DELETE", "/items/1", 400, _ID_ERROR),
    "delete-missing-item": Bad("DELETE", f"/items/{MISSING}", 404, "not found"),
    # ids holding characters the resolver's route pattern refuses: a 400, not a 405 that lists
    # the very method refused. "{id}" + suffix also covers "$" matching before a final newline.
    **{
        f"{method.lower()}-id-{'after-uuid' if prefix else 'with'}-{name}": Bad(
            method, f"/items/{prefix}{char}", 400, _ID_ERROR, body
        )
        for method, body in (("GET", None), ("PUT", {"name": "x", "version": 2}), ("DELETE", None))
        for prefix in ("", "{id}")
        for name, char in {
            "newline": "\n",
            "question-mark": "?",
            "hash": "#",
            "quote": '"',
            "backslash": "\\",
            "tab": "\t",
            "nul": "\x00",
            "backtick": "`",
            "emoji": "\U0001f600",
        }.items()
    },
    # listing: limits, tokens, parameters
    **{
        f"list-limit-{name}": Bad("GET", "/items", 400, _LIMIT_ERROR, query={"limit": limit})
        for name, limit in {
            "zero": "0",
            "over-max": "101",
            "word": "abc",
            "negative": "-1",
            "decimal": "2.5",
            "empty": "",
            "superscript": "\u00b2",  # str.isdigit() is True, int() fails
            "fullwidth": "\uff11\uff10",  # int() reads 10
        }.items()
    },
    **{
        f"list-token-{name}": Bad("GET", "/items", 400, _TOKEN_ERROR, query={"next_token": token})
        for name, token in {
            "not-base64": "%%%not-base64%%%",
            "not-json": _b64("not json"),
            "json-list": _b64('["a list"]'),
            "bad-id": _b64('{"v": 1, "id": "not-a-uuid"}'),
            "other-version": _b64('{"v": 2, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"}'),
            "bool-version": _b64('{"v": true, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"}'),
            "extra-key": _b64('{"v": 1, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f", "x": 1}'),
            "injected-key": _b64('{"v": 1, "id": {"S": "injected"}}'),
            "too-long": "A" * 300,
            "non-ascii": "\u00e9t\u00e9",
            "nested": _b64("[" * 140),
            "utf-16": base64.urlsafe_b64encode(
                '{"v":1,"id":"3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"}'.encode("utf-16")
            ).decode(),
            "nan-version": _b64('{"v": NaN, "id": "3f2c1e9a-6b1d-4c8e-9f3a-2b7d5e4c1a0f"}'),
        }.items()
    },
    "list-unknown-parameter": Bad("GET", "/items", 400, "limt", query={"limt": "5"}),
    # unknown routes and methods
    "unknown-path": Bad("GET", "/nothing-here", 404, "no route for GET /nothing-here"),
    "unknown-path-post": Bad("POST", "/nothing-here", 404, "no route", VALID),
    "root-path": Bad("GET", "/", 404, "no route"),
    "nested-path": Bad("GET", "/items/{id}/parts", 404, "no route"),
    "patch-collection": Bad("PATCH", "/items", 405, "method not allowed", VALID),
    "delete-collection": Bad("DELETE", "/items", 405, "method not allowed"),
    "post-to-item": Bad("POST", "/items/{id}", 405, "method not allowed", VALID),
    "patch-item": Bad("PATCH", "/items/{id}", 405, "method not allowed", {"name": "x"}),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_bad_request_is_a_clear_json_4xx_and_changes_nothing(
    call: Any, table: Any, seeded: str, case: Bad
) -> None:
    before = _items(table)
    reply = call(
        case.method,
        case.path.replace("{id}", seeded),
        case.body,
        raw_body=case.raw_body,
        base64_encoded=case.base64_encoded,
        query=case.query,
        headers=case.headers,
    )
    assert reply.status == case.status
    assert set(reply.body) == {"statusCode", "message"}
    assert reply.body["statusCode"] == case.status
    assert case.message in reply.body["message"]
    assert reply.headers["Content-Type"] == "application/json"
    assert _items(table) == before


def test_a_stale_replace_names_the_current_version_and_keeps_the_stored_item(
    call: Any, table: Any, seeded: str
) -> None:
    reply = call("PUT", f"/items/{seeded}", {"name": "Overwrite", "version": 1})
    assert reply.body["message"] == ("version 1 is stale: item is at version 2; GET it and retry")
    (stored,) = _items(table)
    assert (stored["name"], stored["version"]) == ("Seed", 2)


@pytest.mark.parametrize(
    ("path", "allow"), [("/items", "GET, POST"), (f"/items/{MISSING}", "DELETE, GET, PUT")]
)
def test_unknown_method_on_a_known_path_is_405_with_allow(call: Any, path: str, allow: str) -> None:
    reply = call("PATCH", path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow


# -- Routing and failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "PutItem",
        ),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ],
    ids=["throttled", "read-timeout", "unreachable"],
)
def test_an_unavailable_table_is_a_503_with_retry_after(
    call: Any,
    table: Any,
    handler_module: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    def unavailable(**_: Any) -> None:
        raise error

    monkeypatch.setattr(handler_module.table.client, "put_item", unavailable)
    reply = call("POST", "/items", VALID)
    assert (reply.status, reply.body) == (
        503,
        {"statusCode": 503, "message": "the table is busy; retry with backoff"},
    )
    assert reply.headers["Retry-After"] == "1"
    assert _items(table) == []


def test_the_table_client_gives_up_inside_the_function_timeout(handler_module: ModuleType) -> None:
    """3 attempts x (1 s connect + 2 s read) = 9 s worst case before backoff, under the 10 s
    function timeout: a slow DynamoDB ends as a JSON 503, not a Lambda timeout."""
    config = handler_module.table.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1, 2)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_an_unexpected_error_is_a_json_500_not_a_crash(
    call: Any, handler_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(handler_module.service, "get_item", broken)
    reply = call("GET", f"/items/{MISSING}")
    assert (reply.status, reply.body) == (500, {"statusCode": 500, "message": "internal error"})


def test_an_event_that_is_not_an_api_event_is_a_json_400_and_changes_nothing(
    table: Any, seeded: str, handler_module: ModuleType
) -> None:
    before = _items(table)
    result = handler_module.lambda_handler({"unexpected": True}, LambdaContext())
    assert result["statusCode"] == 400
    assert json.loads(result["body"]) == {"statusCode": 400, "message": "malformed request"}
    assert _items(table) == before
