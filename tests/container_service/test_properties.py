"""Property-based tests of the web app's input boundary (request bodies and models), in-process,
with the suite's Hypothesis profile (tests/conftest.py: fixed budget, derandomized).

Properties: no body ends in a 5xx, and every refusal is a JSON 4xx with a message; an accepted
body round-trips (the answer is computed from exactly the values sent); the models accept
exactly what they document and raise nothing but a validation error.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

ANY_TEXT = st.text(st.characters(codec=None), max_size=30)
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT | st.integers(-(10**400))
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=15,
)
BODY_SHAPED = st.dictionaries(
    st.sampled_from(["values", "text", "algorithm"]) | ANY_TEXT, JSON_VALUES, max_size=3
)
ENCODINGS = st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"])
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "application/ld+json"]
)
NUMBERS = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False) | st.integers(
    -(10**300), 10**300
)


VALID_BODIES = st.fixed_dictionaries({"values": st.lists(NUMBERS, min_size=1, max_size=5)}) | (
    st.fixed_dictionaries({"text": ANY_TEXT.filter(lambda t: t.isascii())})
)


def _bodies() -> st.SearchStrategy[bytes]:
    """Valid bodies, bodies of any JSON shape, both in other encodings, bytes, deep nesting."""
    shapes = VALID_BODIES | BODY_SHAPED | JSON_VALUES
    as_json = shapes.map(lambda v: json.dumps(v, allow_nan=True).encode())
    encoded = st.tuples(VALID_BODIES | BODY_SHAPED, ENCODINGS).map(
        lambda t: json.dumps(t[0]).encode(t[1], errors="surrogatepass")
    )
    nested = st.tuples(st.integers(1, 6000), st.sampled_from([b"[", b'{"values":['])).map(
        lambda t: t[1] * t[0]
    )
    return as_json | encoded | st.binary(max_size=64) | nested


@pytest.fixture(scope="module")
def client(webapp: dict[str, ModuleType]) -> Iterator[TestClient]:
    settings = webapp["config"].Settings(max_body_bytes=1 << 16)
    app = webapp["app"].create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@given(
    body=_bodies(),
    content_type=CONTENT_TYPES,
    path=st.sampled_from(["/v1/statistics", "/v1/digests"]),
)
def test_any_body_is_a_json_answer_never_a_5xx(
    client: TestClient, body: bytes, content_type: str, path: str
) -> None:
    response = client.post(path, content=body, headers={"content-type": content_type})
    assert response.status_code in (200, 400, 413, 415, 422), response.text
    if response.status_code != 200:
        assert isinstance(response.json()["message"], str)
    else:  # accepted: so it was UTF-8 JSON, declared as JSON
        assert content_type.startswith("application/json")
        json.loads(body.decode("utf-8"))


@given(values=st.lists(NUMBERS, min_size=1, max_size=200))
def test_accepted_statistics_are_computed_from_exactly_the_values_sent(
    client: TestClient, values: list[float]
) -> None:
    response = client.post("/v1/statistics", json={"values": values})
    assert response.status_code == 200, response.text
    body = response.json()
    floats = sorted(float(v) for v in values)
    assert (body["count"], body["min"], body["max"]) == (len(values), floats[0], floats[-1])
    assert body["sum"] == math.fsum(floats)
    assert all(math.isfinite(v) for v in body.values() if isinstance(v, float))


@given(
    text=st.text(st.characters(codec="utf-8"), max_size=200),
    algorithm=st.sampled_from(["sha256", "sha512", "sha3_256", "blake2b"]),
)
def test_accepted_text_is_digested_as_its_utf8_bytes(
    client: TestClient, text: str, algorithm: str
) -> None:
    response = client.post("/v1/digests", json={"text": text, "algorithm": algorithm})
    assert response.status_code == 200, response.text
    data = text.encode("utf-8")
    assert response.json() == {
        "algorithm": algorithm,
        "hex": hashlib.new(algorithm, data).hexdigest(),
        "bytes": len(data),
    }


@given(data=BODY_SHAPED | JSON_VALUES)
def test_the_models_accept_only_what_they_document(
    webapp: dict[str, ModuleType], data: Any
) -> None:
    models = webapp["models"]
    try:
        request = models.StatisticsRequest.model_validate(data)
    except ValidationError:
        pass
    else:
        assert set(data) == {"values"}
        assert 1 <= len(request.values) <= models.MAX_VALUES
        assert all(type(v) in (int, float) for v in data["values"])
        assert all(abs(v) <= models.MAX_MAGNITUDE for v in request.values)
    try:
        digest = models.DigestRequest.model_validate(data)
    except ValidationError:
        pass
    else:
        assert set(data) <= {"text", "algorithm"}
        assert digest.text == data["text"]
