"""The environment matrix: every stack synthesizes with a region only and pinned to an account
in three regions, with no AWS credentials (no lookup left `missing`), zero unacknowledged
cdk-nag findings and a clean cfn-lint for that region. (Environment-agnostic is the session
synth every other test uses.) One synth per environment, shared by its tests.

A stack that cannot exist in a region is refused in one line: tests/test_context.py runs
LightsailSite in us-west-1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.app import build_app
from tests.support import ROOT, SELECTED, Synth, synthesize

ACCOUNT = "123456789012"
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "region-only-eu-west-2": {"region": "eu-west-2"},
    "pinned-us-east-1": {"account": ACCOUNT, "region": "us-east-1"},
    "pinned-eu-west-1": {"account": ACCOUNT, "region": "eu-west-1"},
    "pinned-ap-southeast-2": {"account": ACCOUNT, "region": "ap-southeast-2"},
}


@pytest.fixture(scope="module", params=list(ENVIRONMENTS))
def env_synth(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, str], Synth]:
    env = ENVIRONMENTS[request.param]
    outdir = tmp_path_factory.mktemp(request.param)
    app = build_app(outdir=str(outdir), context={**env, "stacks": ",".join(SELECTED)})
    return env, synthesize(app, outdir)


def _manifest(synth: Synth) -> dict[str, Any]:
    return dict(json.loads((synth.outdir / "manifest.json").read_text()))


def test_nothing_is_looked_up_in_an_account(env_synth: tuple[dict[str, str], Synth]) -> None:
    """A `missing` entry is a lookup the CLI would make with AWS credentials."""
    _, synth = env_synth
    assert _manifest(synth).get("missing", []) == []


def test_stacks_are_in_the_environment_asked_for(
    env_synth: tuple[dict[str, str], Synth],
) -> None:
    env, synth = env_synth
    expected = f"aws://{env.get('account', 'unknown-account')}/{env['region']}"
    environments = {
        name: artifact["environment"]
        for name, artifact in _manifest(synth)["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert set(environments) == set(SELECTED)
    assert set(environments.values()) == {expected}


def test_no_unacknowledged_findings(env_synth: tuple[dict[str, str], Synth]) -> None:
    _, synth = env_synth
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in synth.nag_report()["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
    assert findings == [], "\n".join(findings)
    assert synth.error is None


def test_templates_are_cfn_lint_clean_for_the_region(
    env_synth: tuple[dict[str, str], Synth],
) -> None:
    env, synth = env_synth
    templates = sorted(synth.outdir.glob("*.template.json"))
    assert len(templates) == len(SELECTED)
    # The repository's .cfnlintrc.yaml names ./cdk.out; these templates are elsewhere, so its
    # ignored checks are passed as arguments instead.
    rc = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    result = subprocess.run(  # noqa: S603 - our own venv's cfn-lint on our own files
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "--regions",
            env["region"],
            "--ignore-checks",
            *rc["ignore_checks"],
            "--",
            *map(str, templates),
        ],
        cwd=synth.outdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pinned_stacks_spell_their_region_literally(
    env_synth: tuple[dict[str, str], Synth],
) -> None:
    """Guards the matrix itself: the pinned synth must differ from the agnostic one where the
    region is used (the Powertools layer ARN), or it would prove nothing."""
    env, synth = env_synth
    if "ServerlessApi" not in SELECTED:
        pytest.skip("ServerlessApi not in STACKS")
    template = (synth.outdir / "ServerlessApi.template.json").read_text()
    assert f"arn:aws:lambda:{env['region']}:017000801446:layer:" in template
