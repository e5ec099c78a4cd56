"""The Makefile's helper scripts: the credentials check before deploy/diff, the synth summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import aws_credentials
from scripts.summary import summarize

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment with no credentials anywhere, and no instance metadata to ask."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    # Never ask 169.254.169.254 from a test.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return credentials


def test_no_credentials_is_named(no_aws: Path) -> None:
    assert aws_credentials.problem([]) == "no AWS credentials found"


def test_environment_credentials_are_found(no_aws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert aws_credentials.problem([]) is None


def test_profile_from_cdk_args_is_used(no_aws: Path) -> None:
    no_aws.write_text("[team]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n")
    assert aws_credentials.problem(["-c", "alarm_email=a@example.com", "--profile", "team"]) is None
    assert aws_credentials.problem(["--profile=team"]) is None


def test_unknown_profile_is_named(no_aws: Path) -> None:
    assert aws_credentials.problem(["--profile", "nope"]) == (
        "AWS profile 'nope' was not found in ~/.aws/config or ~/.aws/credentials"
    )


def test_script_exits_2_with_one_line_that_says_how(no_aws: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/aws_credentials.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no AWS credentials found: ")
    assert "AWS_PROFILE" in lines[0]
    assert "aws sso login" in lines[0]


def test_summary_of_a_failed_synth_is_not_the_previous_one(tmp_path: Path) -> None:
    # A template from an earlier run, but no manifest: `make synth` removed it before the synth.
    (tmp_path / "ServerlessApi.template.json").write_text('{"Resources": {}}')
    assert summarize(tmp_path).startswith("no summary: the synth did not write")
