"""``python -m local api`` driven over HTTP: the API Gateway checks, then the real handler."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator

import httpx2
import pytest

from tests.local.conftest import Mode

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def api(start: Callable[..., Mode]) -> Iterator[tuple[httpx2.Client, str]]:
    mode = start("ServerlessApi", "api")
    key = mode.line("API key")
    headers = {"x-api-key": key, "Authorization": "local"}
    with httpx2.Client(base_url=mode.url, headers=headers, timeout=TIMEOUT) as client:
        yield client, key


def _names(client: httpx2.Client) -> set[str]:
    return {item["name"] for item in client.get("/items", params={"limit": "100"}).json()["items"]}


def test_create_then_read_returns_the_item(api):
    client, _ = api
    created = client.post("/items", json={"name": "widget", "quantity": 3})
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["name"], item["quantity"], item["version"]) == ("widget", 3, 1)
    assert created.headers["Location"] == f"/items/{item['id']}"
    read = client.get(f"/items/{item['id']}")
    assert read.status_code == 200
    assert read.json() == item


def test_list_pages_through_every_item(api):
    client, _ = api
    before = _names(client)
    ids = {client.post("/items", json={"name": f"item {i}"}).json()["id"] for i in range(5)}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    pages = 0
    while True:
        page = client.get("/items", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["next_token"]:
            break
        params["next_token"] = body["next_token"]
    assert len(seen) == len(set(seen)) == len(before) + len(ids)
    assert ids <= set(seen)
    assert pages >= 3


def test_stale_update_gets_409(api):
    client, _ = api
    item = client.post("/items", json={"name": "v1"}).json()
    first = client.put(f"/items/{item['id']}", json={"name": "v2", "version": 1})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    stale = client.put(f"/items/{item['id']}", json={"name": "v3", "version": 1})
    assert stale.status_code == 409
    assert client.get(f"/items/{item['id']}").json()["name"] == "v2"


def test_missing_api_key_gets_403_before_the_function(api):
    client, _ = api
    response = client.post("/items", json={"name": "no key"}, headers={"x-api-key": ""})
    assert response.status_code == 403
    assert response.json()["message"] == "Forbidden"
    assert "no key" not in _names(client)  # refused before the function


def test_wrong_api_key_gets_403(api):
    client, key = api
    response = client.get("/items", headers={"x-api-key": key + "x"})
    assert response.status_code == 403


def test_body_failing_the_model_gets_400_from_the_gateway(api):
    client, _ = api
    response = client.post("/items", json={"name": "coloured", "colour": "red"})
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400  # the template's BAD_REQUEST_BODY gateway response
    assert "colour" in body["message"]
    assert "coloured" not in _names(client)


def test_unknown_route_gets_api_gateway_403(api):
    client, _ = api
    response = client.get("/nothing-here")
    assert response.status_code == 403
    assert response.json()["message"] == "Missing Authentication Token"


def test_multi_value_query_reaches_the_handler(api):
    client, _ = api
    # The handler reads the last value, as API Gateway's single-value map holds.
    response = client.get("/items?limit=abc&limit=1")
    assert response.status_code == 200, response.text


def test_ctrl_c_stops_the_api_and_its_moto_server(start: Callable[..., Mode]):
    mode = start("ServerlessApi", "api")
    mode.process.send_signal(signal.SIGINT)
    assert mode.process.wait(timeout=20) == 0
    assert mode.lines[-1] == "stopped"
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(mode.url + "/items", timeout=2)
