"""The web app run in-process with FastAPI's test client, and once as the image runs it
(``python -m webapp``) to check that SIGTERM shuts it down cleanly."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import ROOT

APP_DIR = ROOT / "containers" / "web"


@pytest.fixture(scope="module")
def settings(webapp: dict[str, ModuleType]) -> Any:
    return webapp["config"].Settings(version="v1.2.3", max_body_bytes=4096)


@pytest.fixture(scope="module")
def client(webapp: dict[str, ModuleType], settings: Any) -> Iterator[TestClient]:
    with TestClient(webapp["app"].create_app(settings)) as test_client:
        yield test_client


# -- health and version ------------------------------------------------------------------------


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_version_reports_the_deployed_version(client: TestClient) -> None:
    body = client.get("/version").json()
    assert body["version"] == "v1.2.3"
    assert body["python"].count(".") == 2


def test_request_id_comes_from_the_load_balancer_trace_header(client: TestClient) -> None:
    trace = "Root=1-67891233-abcdef012345678912345678"
    response = client.get("/version", headers={"X-Amzn-Trace-Id": trace})
    assert response.headers["x-request-id"] == trace


# -- statistics --------------------------------------------------------------------------------


def test_statistics_of_a_small_sample(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [4, 1, 100, 3, 2]})
    assert response.status_code == 200
    body = response.json()
    # Worked by hand: deviations from 22 are -21, -20, -19, -18, 78; squares sum to 7610.
    assert body["count"] == 5
    assert body["sum"] == 110
    assert body["mean"] == 22
    assert body["median"] == 3
    assert (body["min"], body["max"]) == (1, 100)
    assert body["stdev"] == pytest.approx(math.sqrt(7610 / 4))
    assert (body["p90"], body["p99"]) == (100, 100)


def test_percentiles_are_nearest_rank(client: TestClient) -> None:
    body = client.post("/v1/statistics", json={"values": list(range(100, 0, -1))}).json()
    assert (body["p90"], body["p99"], body["median"]) == (90, 99, 50.5)


def test_one_value_has_no_standard_deviation(client: TestClient) -> None:
    body = client.post("/v1/statistics", json={"values": [7.5]}).json()
    assert body["stdev"] is None
    assert body["mean"] == body["p99"] == 7.5


def test_empty_values_are_refused_with_the_field_named(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "values"


def test_a_non_number_is_refused_at_its_index(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [1, "two", 3]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["values[1]"]


def test_an_infinite_value_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/statistics",
        content=b'{"values": [1, 1e400]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "values[1]", "problem": "not a finite number"}]


def test_values_whose_sum_would_overflow_are_refused_not_a_500(client: TestClient) -> None:
    # Two values near the largest float (1.8e308) overflow the sum; the limit is 1e300.
    response = client.post("/v1/statistics", json={"values": [1e300, 1e308, 1e308]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["values[1]", "values[2]"]
    assert response.json()["errors"][0]["problem"] == "outside -1e300..1e300"


def test_values_at_the_limit_give_finite_results(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [1e300] * 100 + [-1e300]})
    assert response.status_code == 200
    body = response.json()
    # By hand, in units of 1e300: mean 99/101; squared deviations sum to 100 * (2/101)^2 +
    # (200/101)^2 = 40400/101^2; over n - 1 = 100 that is 404/101^2.
    assert body["sum"] == pytest.approx(99e300)
    assert body["stdev"] == pytest.approx(math.sqrt(404) / 101 * 1e300)


def test_booleans_and_numeric_strings_are_not_numbers(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [True, "2.5", 3]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["values[0]", "values[1]"]


def test_more_than_ten_thousand_values_are_refused(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [1] * 10_001})
    # 10,001 one-digit values are ~30 KB: the app's 4 KiB test limit answers first.
    assert response.status_code == 413
    big = TestClient(
        sys.modules["webapp.app"].create_app(
            sys.modules["webapp.config"].Settings(max_body_bytes=1 << 20)
        )
    )
    response = big.post("/v1/statistics", json={"values": [1] * 10_001})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "values"


def test_unknown_fields_are_refused(client: TestClient) -> None:
    response = client.post("/v1/statistics", json={"values": [1], "valus": [2]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "valus"


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/v1/statistics", content=b"{values: [1,", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "request body is not valid JSON"}


NOT_UTF8_JSON = {
    # Deeper than the parser's recursion limit: a RecursionError, not a ValueError.
    "nested-arrays": ("/v1/statistics", b"[" * 12_000),
    "nested-in-a-field": ("/v1/statistics", b'{"values":' + b"[" * 3_000),
    "nested-and-closed": ("/v1/statistics", b'{"values":' + b"[" * 2_000 + b"]" * 2_000 + b"}"),
    "nested-objects": ("/v1/digests", b'{"text":' + b'{"a":' * 3_000),
    # JSON is UTF-8 (RFC 8259); json.loads would sniff UTF-16 and UTF-32 from bytes.
    "utf-16": ("/v1/statistics", json.dumps({"values": [1, 2]}).encode("utf-16")),
    "utf-32": ("/v1/digests", json.dumps({"text": "hi"}).encode("utf-32")),
    "latin-1": ("/v1/digests", '{"text": "caf\u00e9"}'.encode("latin-1")),
    # Python's extensions, not JSON; and a lone surrogate escape is no character.
    "nan": ("/v1/statistics", b'{"values": [NaN]}'),
    "infinity": ("/v1/statistics", b'{"values": [-Infinity]}'),
    "lone-surrogate": ("/v1/digests", b'{"text": "\\ud800"}'),
    "huge-integer": ("/v1/statistics", b'{"values": [' + b"9" * 5_000 + b"]}"),  # > 4,300 digits
}


@pytest.mark.parametrize(("path", "body"), NOT_UTF8_JSON.values(), ids=NOT_UTF8_JSON.keys())
def test_a_body_that_is_not_utf8_json_is_a_400(path: str, body: bytes) -> None:
    big = TestClient(
        sys.modules["webapp.app"].create_app(
            sys.modules["webapp.config"].Settings(max_body_bytes=1 << 16)
        ),
        raise_server_exceptions=False,
    )
    response = big.post(path, content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (
        400,
        {"message": "request body is not valid JSON"},
    )


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_body_not_declared_as_utf8_json_is_a_415(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/statistics", content=b'{"values": [1]}', headers=headers)
    assert response.status_code == 415
    assert response.json() == {
        "message": "Content-Type must be application/json (UTF-8)",
    }


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"],
)
def test_json_is_accepted_with_or_without_a_utf8_charset(
    client: TestClient, content_type: str
) -> None:
    response = client.post(
        "/v1/statistics", content=b'{"values": [1]}', headers={"content-type": content_type}
    )
    assert (response.status_code, response.json()["count"]) == (200, 1)


# -- digests -----------------------------------------------------------------------------------


def test_sha256_digest_matches_the_published_value(client: TestClient) -> None:
    # sha256("hello") as printed by `printf hello | sha256sum`.
    response = client.post("/v1/digests", json={"text": "hello"})
    assert response.status_code == 200
    assert response.json() == {
        "algorithm": "sha256",
        "hex": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "bytes": 5,
    }


def test_digest_counts_utf8_bytes(client: TestClient) -> None:
    body = client.post("/v1/digests", json={"text": "é", "algorithm": "blake2b"}).json()
    assert body["bytes"] == 2
    assert len(body["hex"]) == 128


def test_weak_algorithms_are_refused(client: TestClient) -> None:
    response = client.post("/v1/digests", json={"text": "x", "algorithm": "md5"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "algorithm"


# -- HTTP errors -------------------------------------------------------------------------------


def test_oversized_body_with_content_length_is_a_413(client: TestClient) -> None:
    response = client.post("/v1/digests", json={"text": "x" * 5000})
    assert response.status_code == 413
    assert response.json() == {"message": "request body over 4096 bytes"}


def test_oversized_chunked_body_is_a_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = client.post(
        "/v1/digests", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.get("/v1/digests")
    assert response.status_code == 405
    assert response.json() == {"message": "Method Not Allowed"}


def test_a_bug_is_a_500_without_internals(
    webapp: dict[str, ModuleType], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = webapp["app"].create_app(settings)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"message": "internal error"}
    assert "secret internals" in caplog.text  # logged for us, not sent to the caller


# -- running it --------------------------------------------------------------------------------


def test_startup_and_shutdown_are_logged(
    webapp: dict[str, ModuleType], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="webapp")
    with TestClient(webapp["app"].create_app(settings)):
        assert [r.message for r in caplog.records] == ["started"]
    assert [r.message for r in caplog.records] == ["started", "stopped"]


def test_server_outlives_the_alb_idle_timeout_and_stops_before_sigkill(
    webapp: dict[str, ModuleType],
) -> None:
    config = webapp["__main__"].server_config(webapp["config"].Settings())
    assert config.timeout_keep_alive > 60  # the ALB's idle timeout (FargateWebService)
    assert config.timeout_graceful_shutdown < 30  # the container's stopTimeout
    assert config.proxy_headers is True


def test_log_lines_are_json_with_extra_fields(webapp: dict[str, ModuleType]) -> None:
    record = logging.makeLogRecord(
        {"name": "webapp", "levelname": "INFO", "msg": "request", "status": 200}
    )
    line = json.loads(webapp["__main__"].JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["status"] == 200
    assert line["level"] == "INFO"


def test_settings_come_from_the_environment(
    webapp: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_VERSION", "abc123")
    monkeypatch.setenv("PORT", "9000")
    settings = webapp["config"].Settings.from_env()
    assert (settings.version, settings.port) == ("abc123", 9000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_runs_the_shutdown_and_stops_the_server(
    webapp: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ECS does to stop a task: the server must run the app's shutdown, then exit.
    The container health check probe is exercised on the way (down, then up)."""
    port = _free_port()
    monkeypatch.setenv("PORT", str(port))
    probe = webapp["healthcheck"].main
    assert probe() == 1  # nothing listening yet
    env = {**os.environ, "PYTHONPATH": str(APP_DIR), "PORT": str(port), "APP_VERSION": "t"}
    server = subprocess.Popen(
        [sys.executable, "-m", "webapp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # a deadline for a slow machine, not a timing assertion
        while probe() != 0:
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    # uvicorn re-raises the signal once shut down, so the exit status says why it stopped.
    assert server.returncode == -signal.SIGTERM
    messages = [json.loads(line)["message"] for line in output.splitlines() if line]
    assert messages.index("started") < messages.index("stopped")
