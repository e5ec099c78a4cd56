"""Context ``compliance``: cdk-nag's compliance packs beside AwsSolutions, and ``exempt``'s table
of concerns that answers a rule's equivalents in every pack with one decision.

The packs' verdict on the real stacks is in the session synth (tests/conftest.py runs all five;
tests/test_nag.py fails on any unacknowledged finding). Here: the wiring, on a probe stack that
AwsSolutions passes and each pack fails, and the table itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_logs as logs
from constructs import Construct

import stacks.app
from stacks.app import COMPLIANCE, COMPLIANCE_PACKS, build_app, compliance_packs
from stacks.shared import ConfigError, exempt
from stacks.shared.exceptions import CONCERNS, HIPAA, NIST_R4, NIST_R5, PCI, equivalents

_LOG_GROUP_KMS = "cloudwatch_log_group_encrypted_check"


class _ProbeStack(Stack):
    """Two resources AwsSolutions has no rule for and the packs do: a log group on
    CloudWatch's own key (NIST R5/R4, HIPAA, PCI) and an EventBridge target without a
    dead-letter queue (Serverless)."""

    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        logs.CfnLogGroup(self, "Logs", retention_in_days=365)
        events.CfnRule(
            self,
            "Rule",
            schedule_expression="rate(1 day)",
            targets=[
                events.CfnRule.TargetProperty(
                    id="Topic", arn="arn:aws:sns:eu-west-1:111111111111:probe"
                )
            ],
        )


_PROBE_FINDING = {
    "serverless": "Serverless-EventBusDLQ",
    "nist-800-53-r5": "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
    "nist-800-53-r4": "NIST.800.53.R4-CloudWatchLogGroupEncrypted",
    "hipaa": "HIPAA.Security-CloudWatchLogGroupEncrypted",
    "pci-dss-321": "PCI.DSS.321-CloudWatchLogGroupEncrypted",
}


@pytest.fixture
def probe_app(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setattr(stacks.app, "STACKS", {"Probe": _ProbeStack})

    def _app(**context: str) -> App:
        return build_app(context=context, outdir=str(tmp_path_factory.mktemp("probe.out")))

    return _app


def test_the_probe_passes_aws_solutions_alone(probe_app) -> None:
    probe_app().synth()  # raises on a finding


def test_each_pack_runs_beside_aws_solutions(probe_app) -> None:
    """All five in one synth (one probe synth, not five): each pack reports its own finding."""
    app = probe_app(**{COMPLIANCE: ",".join(COMPLIANCE_PACKS)})
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    failed = {v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])}
    assert set(_PROBE_FINDING.values()) <= failed
    assert not any(rule.startswith("AwsSolutions-") for rule in failed)


def test_several_packs_run_together_once_each() -> None:
    assert compliance_packs("hipaa, pci-dss-321,hipaa") == [
        COMPLIANCE_PACKS["hipaa"],
        COMPLIANCE_PACKS["pci-dss-321"],
    ]
    assert compliance_packs(None) == []
    assert compliance_packs("") == []


@pytest.mark.parametrize("value", ["sox", "hipaa,nist", ","])
def test_an_unknown_pack_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(context={"stacks": "LightsailSite", COMPLIANCE: value})
    message = str(caught.value)
    assert message.startswith(f"context compliance={value!r}: expected a comma-separated list")
    assert "nist-800-53-r5" in message
    assert "\n" not in message


def test_one_decision_acknowledges_its_equivalent_in_every_pack() -> None:
    app = App()
    stack = Stack(app, "S")
    group = logs.LogGroup(stack, "Logs")
    exempt(group, "a reason long enough for the check", guard=_LOG_GROUP_KMS)
    acknowledged = {
        rule.removeprefix("Annotation::")
        for entry in group.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    }
    assert acknowledged == {
        f"cdk-validator-cfnguard::{_LOG_GROUP_KMS}",
        *(f"{p}-CloudWatchLogGroupEncrypted" for p in (NIST_R5, NIST_R4, HIPAA, PCI)),
    }


def test_a_pack_id_names_its_concern_in_the_other_packs_too() -> None:
    assert equivalents([f"{NIST_R5}-IAMNoInlinePolicy"]) == [
        f"{NIST_R4}-IAMNoInlinePolicy",
        f"{HIPAA}-IAMNoInlinePolicy",
        f"{PCI}-IAMNoInlinePolicy",
    ]
    assert equivalents(["AwsSolutions-IAM5[Resource::*]"]) == []


def test_no_id_belongs_to_two_concerns() -> None:
    seen: dict[str, str] = {}
    for name, concern in CONCERNS.items():
        for rule_id in concern.ids:
            assert rule_id not in seen, f"{rule_id} is in {seen[rule_id]!r} and {name!r}"
            seen[rule_id] = name
