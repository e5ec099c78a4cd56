"""cdk-nag's AwsSolutions pack over every stack: no finding may go unacknowledged."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import stacks.app
from stacks.app import STACKS, build_app
from tests.support import SELECTED, Synth


def _findings(synth: Synth, stack: str) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in synth.nag_report()["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
        if construct["constructPath"].startswith(f"{stack}/")
    ]


@pytest.mark.parametrize("stack", SELECTED)
def test_stack_has_no_unacknowledged_nag_findings(synth: Synth, stack: str) -> None:
    findings = _findings(synth, stack)
    assert findings == [], "\n".join(findings)


def test_synthesis_fails_only_on_nag_findings(synth: Synth) -> None:
    if synth.error is not None:
        assert any(_findings(synth, s) for s in STACKS), synth.error


class _UnencryptedQueueStack(Stack):
    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        sqs.Queue(self, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)


def test_the_app_fails_synthesis_on_a_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Guards the wiring itself: an app built by build_app must refuse a non-compliant stack."""
    monkeypatch.setattr(stacks.app, "STACKS", {"Bad": _UnencryptedQueueStack})
    app = build_app(outdir=str(tmp_path_factory.mktemp("bad.out")))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
