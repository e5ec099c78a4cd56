"""Property-based tests of the items API's input boundary (body, path, query, page token), run
against moto with the suite's Hypothesis profile (tests/conftest.py: fixed budget, derandomized).

Properties: no input ends in a 5xx; a refused input changes nothing; an accepted item
round-trips (what GET returns is what was sent, and PUT/DELETE act on exactly that item).
"""

from __future__ import annotations

import base64
import json
import uuid
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

# Every string a JSON body or an event can carry, surrogates included (json.dumps escapes them).
ANY_TEXT = st.text(st.characters(codec=None), max_size=40)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(["name", "description", "quantity", "tags", "expires_at", "version"])
# Item-shaped bodies, near misses included: the fields the model knows, with any JSON values.
ITEMISH = st.dictionaries(FIELD_NAMES | ANY_TEXT, JSON_VALUES, max_size=6)
# No surrounding whitespace (the model strips it), by Python's definition, which includes
# every character pydantic's strip removes: then what is stored is exactly what was sent.
NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200).filter(
    lambda s: s.strip() == s
)
TAGS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=50).filter(
    lambda s: s.strip() == s
)
VALID_ITEMS = st.fixed_dictionaries(
    {"name": NAMES},
    optional={
        "description": st.text(st.characters(codec="utf-8"), max_size=2000),
        "quantity": st.integers(0, 1_000_000_000),
        "tags": st.lists(TAGS, max_size=20, unique=True),
        "expires_at": st.integers(2_000_000_000, 4_102_444_800),
    },
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "text/plain",
        "application/json; charset=utf-16",
        "multipart/form-data; boundary=x",
        "",
    ]
)
ENCODINGS = st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"])


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def _bodies() -> st.SearchStrategy[tuple[str, bool]]:
    """(body, is_base64): JSON of any shape as text, the same in other encodings (base64, as
    API Gateway passes binary), raw bytes, and deep nesting."""
    as_text = (JSON_VALUES | ITEMISH).map(lambda v: (_dumps(v), False))
    encoded = st.tuples(ITEMISH | JSON_VALUES, ENCODINGS).map(
        lambda t: (
            base64.b64encode(_dumps(t[0]).encode(t[1], errors="surrogatepass")).decode(),
            True,
        )
    )
    raw = st.binary(max_size=64).map(lambda b: (base64.b64encode(b).decode(), True))
    nested = st.tuples(st.integers(1, 8000), st.sampled_from(["[", '{"a":', '{"name":['])).map(
        lambda t: (t[1] * t[0], False)
    )
    return as_text | encoded | raw | nested


@pytest.fixture(scope="module")
def store(_module_table: Any) -> Any:
    """The module's table: each example leaves it empty (a function-scoped fixture would be
    set up once for all of a test's examples, not once per example)."""
    return _module_table


def _snapshot(table: Any) -> list[dict[str, Any]]:
    return sorted(table.scan(ConsistentRead=True)["Items"], key=lambda item: str(item["id"]))


def _clear(table: Any) -> None:
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="id")["Items"]:
            batch.delete_item(Key={"id": item["id"]})


def _seed(invoke: Any) -> str:
    reply = invoke("POST", "/items", {"name": "Seed"})
    assert reply.status == 201
    return str(reply.body["id"])


def _json_error(reply: Any) -> None:
    assert reply.status < 500, reply
    if reply.status >= 400:
        assert set(reply.body) == {"statusCode", "message"}
        assert reply.body["statusCode"] == reply.status
        assert reply.headers["Content-Type"] == "application/json"


@given(body=_bodies(), content_type=CONTENT_TYPES, method=st.sampled_from(["POST", "PUT"]))
def test_any_body_is_answered_without_a_5xx_and_a_refused_one_changes_nothing(
    invoke: Any, store: Any, body: tuple[str, bool], content_type: str, method: str
) -> None:
    seeded = _seed(invoke)
    try:
        before = _snapshot(store)
        path = "/items" if method == "POST" else f"/items/{seeded}"
        headers = {"Content-Type": content_type} if content_type else {}
        reply = invoke(method, path, raw_body=body[0], base64_encoded=body[1], headers=headers)
        _json_error(reply)
        if reply.status >= 400:
            assert _snapshot(store) == before
        else:
            # Accepted: what GET returns now is exactly what the write returned.
            assert invoke("GET", f"/items/{reply.body['id']}").body == reply.body
    finally:
        _clear(store)


@given(key=ANY_TEXT)
def test_any_idempotency_key_is_a_create_or_a_400_that_changes_nothing(
    invoke: Any, store: Any, key: str
) -> None:
    try:
        reply = invoke("POST", "/items", {"name": "x"}, headers={"Idempotency-Key": key})
        _json_error(reply)
        if reply.status >= 400:
            assert reply.status == 400
            assert _snapshot(store) == []
        else:  # a replay with the same key finds the same item
            again = invoke("POST", "/items", {"name": "x"}, headers={"Idempotency-Key": key})
            assert (again.status, again.body) == (200, reply.body)
    finally:
        _clear(store)


@given(item=VALID_ITEMS)
def test_a_valid_item_round_trips_through_create_get_replace_and_delete(
    invoke: Any, store: Any, item: dict[str, Any]
) -> None:
    try:
        created = invoke("POST", "/items", item)
        assert created.status == 201, created
        sent = {"description": "", "quantity": 0, "tags": [], **item}
        assert {k: created.body[k] for k in sent} == sent
        item_id = created.body["id"]
        assert invoke("GET", f"/items/{item_id}").body == created.body
        replaced = invoke("PUT", f"/items/{item_id}", {**item, "version": 1})
        assert (replaced.status, replaced.body["version"]) == (200, 2)
        assert invoke("DELETE", f"/items/{item_id}").status == 204
        assert _snapshot(store) == []
    finally:
        _clear(store)


@given(
    item_id=st.text(st.characters(codec=None), min_size=1, max_size=40).filter(
        lambda s: "/" not in s
    ),
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
)
def test_any_id_is_a_400_or_404_and_changes_nothing(
    invoke: Any, store: Any, item_id: str, method: str
) -> None:
    """API Gateway passes the decoded id: any character may arrive, never a 405 or a 5xx."""
    seeded = _seed(invoke)
    try:
        before = _snapshot(store)
        body = {"name": "x", "version": 1} if method == "PUT" else None
        for path in (f"/items/{item_id}", f"/items/{seeded}{item_id}"):
            reply = invoke(method, path, body)
            _json_error(reply)
            if path != f"/items/{seeded}":
                assert reply.status in (400, 404), (path, reply)
                assert _snapshot(store) == before
    finally:
        _clear(store)


@given(
    query=st.dictionaries(
        st.sampled_from(["limit", "next_token"]) | ANY_TEXT, ANY_TEXT | st.just(""), max_size=3
    )
)
def test_any_listing_query_is_a_200_or_a_400(
    invoke: Any, store: Any, query: dict[str, str]
) -> None:
    reply = invoke("GET", "/items", query=query)
    _json_error(reply)
    assert reply.status in (200, 400)


@given(token=ANY_TEXT | st.binary(max_size=150).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_a_page_token_decodes_to_our_shape_or_is_refused(
    handler_module: ModuleType, token: str
) -> None:
    service = handler_module.service
    try:
        key = service.decode_token(token)
    except service.InvalidToken:
        return
    assert set(key) == {"id"}
    assert service.is_item_id(key["id"])


@given(item_id=st.uuids().map(str))
def test_a_page_token_round_trips(handler_module: ModuleType, item_id: str) -> None:
    service = handler_module.service
    assert service.decode_token(service.encode_token({"id": item_id})) == {"id": item_id}
    assert uuid.UUID(item_id)
