"""Shared fixtures: the whole app synthesized once per session, and fake AWS credentials.

Synthesis runs cdk-nag and the Control Tower rules too. A finding does not stop the session: the
templates are written before validation, so every other test still runs, and tests/test_nag.py
and tests/test_policy_engines.py report the findings.
"""

from __future__ import annotations

import pytest

from stacks.app import POLICY_ENGINES, build_app
from tests.support import SELECTED, Synth


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # Every policy engine: cdk-nag and the Control Tower rules (checkov runs on the templates).
    app = build_app(
        outdir=str(outdir),
        context={"stacks": ",".join(SELECTED), POLICY_ENGINES: "all"},
    )
    try:
        app.synth()
    except RuntimeError as err:
        if "ValidationFailed" not in str(err):
            raise
        return Synth(outdir, str(err))
    return Synth(outdir, None)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
