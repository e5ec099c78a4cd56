"""The smoke checker's own code, where it can run here: the token it signs is one the chat's
authorizer accepts, its TOTP matches RFC 6238, unknown checks are refused, and ``make integ``
reads assertion results as integ-runner does. What it does only in an account (Cognito
sign-in, Batch, the real buckets) runs in ``make integ``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from integ.__main__ import assertion_failures
from integ.__main__ import main as integ_main
from integ.checker.smoke import app, checks
from integ.snapshots import files_of
from stacks.app import STACKS
from tests.support import ROOT, handler_package

CHAT_CODE = ROOT / "lambda_src" / "websocket_api"
KEY = b"k" * 64


def test_signed_token_is_accepted_by_the_chat_authorizer_module():
    now = 1_800_000_000
    token = app.sign_token(KEY, "smoke-alice", now + app.TOKEN_LIFETIME)
    with handler_package(CHAT_CODE, {}):
        from chat import tokens

        assert tokens.verify(KEY, token, now=now, max_lifetime=3600) == "smoke-alice"
        assert token == tokens.sign(KEY, "smoke-alice", now + app.TOKEN_LIFETIME)


@pytest.mark.parametrize(
    ("at", "code"),
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890": the last 6 of its 8 digits.
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_totp_matches_rfc_6238(at, code):
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of 12345678901234567890
    assert app.totp(secret, at=at) == code


def test_unknown_check_is_refused():
    with pytest.raises(checks.CheckFailed, match="check 'nope'"):
        app.lambda_handler({"check": "nope"}, None)


def _outputs(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"IntegX": {"Url": "http://x"}, "XDeployAssert": values}))
    return path


def test_run_passes_when_every_assertion_succeeded(tmp_path):
    outputs = _outputs(tmp_path, AssertionResultsLambdaInvokeA=json.dumps({"status": "success"}))
    assert assertion_failures("integ_x.py", outputs) == []


def test_run_fails_on_a_failed_assertion_with_its_message(tmp_path):
    failed = json.dumps({"status": "fail", "message": "Expected passed but received pending"})
    outputs = _outputs(tmp_path, AssertionResultsLambdaInvokeA=failed)
    (failure,) = assertion_failures("integ_x.py", outputs)
    assert "received pending" in failure


def test_run_fails_when_no_assertion_reported(tmp_path):
    assert assertion_failures("integ_x.py", _outputs(tmp_path)) == [
        "integ_x.py: no assertion results in the stack outputs"
    ]


@pytest.fixture
def no_aws(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    return env | {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _make(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # -o: the set-up is the session's own (make test has just run it); no reinstall here.
    return subprocess.run(  # noqa: S603
        ["make", "-s", "-o", ".venv/.installed", "-o", "node_modules/.installed", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_make_integ_refuses_without_credentials_as_make_deploy_does(no_aws):
    deploy = _make(no_aws, "deploy", "STACK=ServerlessApi")
    (line,) = [x for x in deploy.stderr.splitlines() if x.startswith("error: ")]
    # The target is the same for every stack (each has integ apps: test_snapshots.py checks it).
    for stack in ("ServerlessApi", "LightsailSite"):
        result = _make(no_aws, "integ", f"STACK={stack}")
        assert result.returncode == 2, result.stderr
        assert [x for x in result.stderr.splitlines() if x.startswith("error: ")] == [line]


def test_every_stack_has_integ_apps_for_make_integ_to_run():
    assert all(files_of(stack) for stack in STACKS)


def test_integ_run_names_an_unknown_stack(capsys):
    assert integ_main(["run", "--stack", "Nope"]) == 2
    assert capsys.readouterr().err.startswith("error: stack 'Nope': expected one of ServerlessApi")


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_pattern_doc_quotes_the_current_cost_of_its_integ_runs(stack):
    from integ.run_cost import table

    doc = ROOT / "docs" / f"{STACKS[stack].__module__.rsplit('.', 1)[-1]}.md"
    assert table(stack) in doc.read_text(), (
        f"{doc.name}: its integ run cost is stale; run `.venv/bin/python -m integ cost "
        "--write-docs`"
    )


def test_every_integ_app_has_a_run_duration():
    from integ.run_cost import RUN_MINUTES
    from integ.snapshots import integ_files

    assert set(RUN_MINUTES) == {f.stem for f in integ_files()}
