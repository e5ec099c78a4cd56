"""Contract tests with Schemathesis (a fuzzer nobody here wrote): ``local-api`` and the local web
app, started as ``make local-api`` / ``make local-web`` start them, against the committed
documents in docs/openapi/. Checks: no 5xx, every status, content type and body as documented;
for the items API also the stateful sequences the document's ``links`` declare (create -> read
-> replace -> delete).

Bounded: a fixed number of examples per operation and a fixed seed (repeatable, as the suite's
Hypothesis profile), one worker. The subprocess timeout only guards against a hang.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.local.conftest import Mode
from tests.support import ROOT

DOCS = ROOT / "docs" / "openapi"
SCHEMATHESIS = Path(sys.executable).parent / "st"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
MAX_EXAMPLES = 10
SEED = 1
HANG_GUARD_SECONDS = 600


def _schemathesis(document: Path, base_url: str, tmp: Path, *headers: str) -> dict[str, Any]:
    """Run ``st run`` over ``document`` against ``base_url``; its JSON report."""
    report = tmp / "schemathesis.json"
    command = [
        str(SCHEMATHESIS),
        "run",
        str(document),
        "--url",
        base_url,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    for header in headers:
        command += ["--header", header]
    result = subprocess.run(  # noqa: S603 - our own venv's Schemathesis on our own files
        command,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    summary: dict[str, Any] = json.loads(report.read_text())
    assert summary["failures"] == [], summary
    assert summary["errors"] == [], summary
    return summary


@pytest.fixture(scope="module")
def items_api(start: Callable[..., Mode]) -> Mode:
    return start("ServerlessApi", "api")


def test_local_api_serves_the_committed_document(items_api: Mode) -> None:
    mode = items_api
    served = httpx2.get(mode.url.rsplit("/", 1)[0] + "/openapi.json", timeout=10).json()
    committed = json.loads((DOCS / "items.json").read_text())
    assert served["servers"] == [{"url": mode.url}]
    assert {**served, "servers": committed["servers"]} == committed


def test_items_api_conforms_to_its_document(items_api: Mode, tmp_path: Path) -> None:
    mode = items_api
    key = mode.line("API key (header x-api-key):")
    summary = _schemathesis(
        DOCS / "items.json",
        mode.url,
        tmp_path,
        f"x-api-key: {key}",
        "Authorization: Bearer local-token",  # the Cognito authorizer's header; not verified
    )
    assert summary["operations"]["tested"] == 5
    assert summary["phases"]["stateful"]["status"] == "success"
    assert summary["test_cases"]["generated"] > 5 * MAX_EXAMPLES


def test_web_app_conforms_to_its_document(start: Callable[..., Mode], tmp_path: Path) -> None:
    mode = start("ContainerService", "web")
    summary = _schemathesis(DOCS / "web.json", mode.url, tmp_path)
    assert summary["operations"]["tested"] == 4
    assert summary["test_cases"]["generated"] > 4 * MAX_EXAMPLES
