"""The integration tests' smoke checks (``integ/checker/smoke/checks.py``) against the local
modes: every check an integ app's assertion makes in the account passes here first, against the
same code, wired from the same templates.

What cannot run here is said where it applies: the load balancer's own health checks in front
of the web app (ContainerService) and the Lightsail instance's boot.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from integ.checker.smoke import checks
from tests.local.conftest import Mode
from tests.support import ROOT, Synth

TIMEOUT = 10.0


def _function_env(synth: Synth, stack: str, package_type: str | None = None) -> dict[str, str]:
    (function,) = [
        r["Properties"]
        for r in synth.template_json(stack)["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and (package_type is None or r["Properties"].get("PackageType") == package_type)
    ]
    return dict(function["Environment"]["Variables"])


def test_items_api_check_passes_against_local_api(start: Callable[..., Mode]):
    mode = start("ServerlessApi", "api")
    # The local gateway checks that the Cognito authorizer's header is there (it cannot verify a
    # token offline); in the account the checker signs a user in and sends its ID token.
    headers = {"x-api-key": mode.line("API key"), "Authorization": "local"}
    assert checks.items_api(mode.url, headers) == checks.PASSED


def test_chat_check_passes_against_local_chat(start: Callable[..., Mode]):
    mode = start("WebSocketApi", "chat")
    port = mode.url.rsplit(":", 1)[1].split("/")[0]

    def open_socket(user: str) -> AbstractContextManager[ClientConnection]:
        token = subprocess.run(
            [sys.executable, "-m", "local", "chat", "token", "--user", user, "--port", port],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        return connect(f"{mode.url}?token={token}", open_timeout=TIMEOUT)

    def refused() -> int:
        try:
            with connect(mode.url, open_timeout=TIMEOUT):
                pass
        except InvalidStatus as err:
            return int(err.response.status_code)
        return 101

    assert checks.chat(open_socket, refused) == checks.PASSED


def test_thumbnails_check_passes_against_local_thumbnails(synth: Synth, run_mode, tmp_path: Path):
    env = _function_env(synth, "Thumbnails", "Image")
    source_prefix = env.get("SOURCE_PREFIX", "")
    key = f"{source_prefix}smoke/sample.png"  # what the checker uploads in the account
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "smoke").mkdir(parents=True)
    (src / "smoke" / "sample.png").write_bytes(checks.sample_png())

    run_mode("Thumbnails", "thumbnails", "--src", str(src), "--out", str(out))

    expected = checks.thumbnail_keys(
        key,
        [int(w) for w in env["WIDTHS"].split(",")],
        source_prefix=source_prefix,
        destination_prefix=env["DESTINATION_PREFIX"],
    )
    fetch = lambda k: (out / k).read_bytes() if (out / k).is_file() else None  # noqa: E731
    assert checks.thumbnails(expected, fetch, checks.SAMPLE_SIZE) == checks.PASSED


def test_thumbnails_check_waits_for_a_missing_thumbnail():
    assert checks.thumbnails({"thumbnails/160/a.png": 160}, lambda _: None, (320, 200)) == (
        checks.PENDING
    )


def test_thumbnails_check_fails_on_a_wrong_size():
    wrong = checks.sample_png(200, 200)
    with pytest.raises(checks.CheckFailed, match=r"\(200, 200\) != \(160, 100\)"):
        checks.thumbnails({"thumbnails/160/a.png": 160}, lambda _: wrong, (320, 200))


def test_web_check_passes_against_local_web(start: Callable[..., Mode]):
    # Locally the container's own health check runs (local-web); the load balancer's target
    # health checks, which gate the account's check, exist only in the account.
    mode = start("ContainerService", "web")
    assert checks.web(mode.url) == checks.PASSED


def test_batch_check_passes_against_local_batch(run_mode, tmp_path: Path):
    source = tmp_path / "smoke.csv"
    source.write_bytes(checks.batch_input())
    out = tmp_path / "out"

    run_mode(
        "BatchJobs",
        "batch",
        "--input",
        str(source),
        "--shards",
        str(checks.BATCH_SHARDS),
        "--out",
        str(out),
    )

    parts = [p.read_text() for p in sorted(out.rglob("part-*.csv"))]
    rejects = [p.read_text() for p in sorted(out.rglob("rejects-*.csv"))]
    assert checks.batch_output(parts, rejects) == checks.PASSED


def test_batch_check_fails_when_a_compound_is_missing():
    header = "id,name,smiles\n"
    parts = [header + "smoke-1,water,O\n", header]
    rejects = [header, header + "smoke-5,not a compound,not-smiles\n"]
    with pytest.raises(checks.CheckFailed, match="results"):
        checks.batch_output(parts, rejects)


def test_export_check_passes_against_local_cron(run_mode, tmp_path: Path):
    out = tmp_path / "export"

    run_mode("ScheduledJob", "cron", "--items", str(checks.EXPORT_ITEMS), "--out", str(out))

    (manifest_path,) = out.rglob("_manifest.json")
    records = []
    for part in sorted(manifest_path.parent.glob("part-*.jsonl.gz")):
        records += [json.loads(line) for line in gzip.decompress(part.read_bytes()).splitlines()]
    manifest = json.loads(manifest_path.read_text())
    assert checks.export(manifest, records, checks.EXPORT_ITEMS) == checks.PASSED


def test_export_items_follow_the_key_schema():
    items = checks.export_items(
        [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        {"pk": "S", "n": "N"},
    )
    assert len(items) == checks.EXPORT_ITEMS
    assert items[3]["pk"] == {"S": "smoke-0003"}
    assert items[3]["n"] == {"N": "3"}
    assert len({json.dumps(i, sort_keys=True) for i in items}) == checks.EXPORT_ITEMS


@pytest.fixture
def loopback_site() -> Iterator[Callable[[int], str]]:
    """``serve(status)``: a URL on 127.0.0.1 answering every GET with that status."""
    servers: list[ThreadingHTTPServer] = []

    def serve(status: int) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"<html>site</html>")

            def log_message(self, *_: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_reachable_check_against_a_loopback_site(loopback_site):
    # LightsailSite's check. The instance's boot and its blueprint's web server cannot run
    # here (no local mode boots a Lightsail image): this runs the check itself against a site
    # on 127.0.0.1, and one that is not listening (an instance still booting) is pending.
    assert checks.reachable(loopback_site(200)) == checks.PASSED
    with pytest.raises(checks.CheckFailed, match="expected 200, got 503"):
        checks.reachable(loopback_site(503))
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    assert checks.reachable(f"http://127.0.0.1:{port}/") == checks.PENDING


def test_sample_png_reads_back_at_its_size():
    assert checks.image_size(checks.sample_png(37, 11)) == (37, 11)


def test_batch_input_is_the_five_compounds():
    rows = list(csv.DictReader(checks.batch_input().decode().splitlines()))
    assert [r["id"] for r in rows] == [c[0] for c in checks.COMPOUNDS]
