"""Shared fixtures: the whole app synthesized once per test run, and fake AWS credentials.

Synthesis runs cdk-nag (AwsSolutions and its five compliance packs) and the Control Tower rules
too. A finding does not stop the session: the
templates are written before validation, so every other test still runs, and tests/test_nag.py
and tests/test_policy_engines.py report the findings.

Under pytest-xdist (`make test` runs two workers) the synthesis is still done once per run: the
first worker to ask synthesizes under a file lock into a folder all workers share, the others
wait for it and read the same cloud assembly.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from moto.core.config import default_user_config

from stacks.app import COMPLIANCE, COMPLIANCE_PACKS, POLICY_ENGINES, build_app
from tests.support import SELECTED, Synth, synthesize

pytest_plugins = ["tests.mypy_beside"]

# One Hypothesis profile for every property-based test in the suite, so CI is fast and
# repeatable: a fixed example budget, a seed derived from each test (derandomize), no example
# database carried between runs, and no per-example deadline (a loaded CI machine is not a bug).
# HYPOTHESIS_PROFILE=dev explores more, with random seeds, when hunting for new failures locally.
settings.register_profile(
    "ci",
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=500, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# moto replaces boto3's default session at every mock_aws() by default, so each test's first
# client parses botocore's service models again (S3's alone is 1.4 MB of JSON). Every test runs
# with fake credentials, so one default session can serve them all (moto's documented
# core.reset_boto3_session setting); requests are still intercepted per mock.
default_user_config.setdefault("core", {})["reset_boto3_session"] = False


def _synthesize(outdir: Path) -> Synth:
    # Every policy engine: cdk-nag and the Control Tower rules (checkov runs on the templates),
    # and every cdk-nag compliance pack, so each is synthesized once per run, not once per pack.
    app = build_app(
        outdir=str(outdir),
        context={
            "stacks": ",".join(SELECTED),
            POLICY_ENGINES: "all",
            COMPLIANCE: ",".join(COMPLIANCE_PACKS),
        },
    )
    return synthesize(app, outdir)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Synth:
    if not hasattr(request.config, "workerinput"):  # not an xdist worker
        return _synthesize(tmp_path_factory.mktemp("cdk.out"))
    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every worker of the run
    outdir, done = shared / "cdk.out", shared / "cdk.out.json"
    with (shared / "cdk.out.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            result = _synthesize(outdir)
            done.write_text(json.dumps({"error": result.error}))
            return result
    return Synth(outdir, json.loads(done.read_text())["error"])


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
