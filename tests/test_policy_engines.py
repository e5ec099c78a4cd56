"""The AWS Control Tower proactive controls (cfn-guard, in the session synth) and checkov (once per
session, from .venv-checkov) over every stack: no finding may go unexplained. And
docs/security.md, generated from both, must be current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts import security_report
from stacks.app import STACKS
from tests.support import SELECTED, Synth

GUARD = "cdk-validator-cfnguard"
# Two resources checkov must judge, so a harness that reports nothing cannot pass: a bucket
# without versioning (CKV_AWS_21 fails) and the same bucket with that check skipped.
_PROBE = {
    "Resources": {
        "Plain": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Skipped": {
            "Type": "AWS::S3::Bucket",
            "Properties": {},
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_21", "comment": "probe reason"}]}},
        },
    }
}


@pytest.fixture(scope="session")
def checkov_report(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every selected template and the probe: start-up dominates."""
    probe = tmp_path_factory.mktemp("probe") / "CheckovProbe.template.json"
    probe.write_text(json.dumps(_PROBE))
    templates = [synth.outdir / f"{stack}.template.json" for stack in SELECTED]
    return security_report.run_checkov([*templates, probe])


def _guard_findings(synth: Synth, stack: str) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath'] or '(no construct path)'}"
        for plugin in synth.nag_report()["pluginReports"]
        if plugin["pluginName"] == GUARD
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
        # The plugin reports a few findings without a construct path; they count for all.
        if construct["constructPath"].startswith(f"{stack}/") or not construct["constructPath"]
    ]


@pytest.mark.parametrize("stack", SELECTED)
def test_stack_has_no_unexplained_control_tower_findings(synth: Synth, stack: str) -> None:
    findings = _guard_findings(synth, stack)
    assert findings == [], "\n".join(findings)


def test_the_control_tower_rules_ran_and_passed(synth: Synth) -> None:
    """Guards the wiring: the session synth must have run the plugin (its report is there,
    with the exceptions it honoured), not merely found nothing because it never ran."""
    if not any(
        r["Type"] == "AWS::Lambda::Function"
        for stack in SELECTED
        for r in synth.template_json(stack)["Resources"].values()
    ):
        pytest.skip("no selected stack has a Lambda function for the plugin to report on")
    reports = [p for p in synth.nag_report()["pluginReports"] if p["pluginName"] == GUARD]
    assert [r["conclusion"] for r in reports] == ["success"]
    suppressed = {v["ruleName"] for v in reports[0].get("suppressedViolations", [])}
    assert "lambda_inside_vpc_check" in suppressed


@pytest.mark.parametrize("stack", SELECTED)
def test_stack_has_no_unexplained_checkov_findings(
    checkov_report: dict[str, Any], stack: str
) -> None:
    # No check at all is possible (LightsailSite's resource types have none); the probe test
    # shows the harness reports failures.
    results = security_report.checkov_by_stack(checkov_report)[stack]
    failed = [
        f"{check['resource']} {check['check_id']}: {check['check_name']}"
        for check in results["failed"]
    ]
    assert failed == [], "\n".join(failed)


def test_every_checkov_skip_has_a_reason(checkov_report: dict[str, Any]) -> None:
    skips = [
        check
        for stack in SELECTED
        for check in security_report.checkov_by_stack(checkov_report)[stack]["skipped"]
    ]
    short = [
        f"{c['resource']} {c['check_id']}"
        for c in skips
        if len(c["check_result"].get("suppress_comment", "")) < 20
    ]
    assert short == []


def test_checkov_fails_and_skips_the_probe(checkov_report: dict[str, Any]) -> None:
    probe = security_report.checkov_by_stack(checkov_report)["CheckovProbe"]
    failed = {(c["resource"], c["check_id"]) for c in probe["failed"]}
    skipped = {(c["resource"], c["check_id"]) for c in probe["skipped"]}
    assert ("AWS::S3::Bucket.Plain", "CKV_AWS_21") in failed
    assert skipped == {("AWS::S3::Bucket.Skipped", "CKV_AWS_21")}


def test_security_page_is_current(synth: Synth, checkov_report: dict[str, Any]) -> None:
    if set(SELECTED) != set(STACKS):
        pytest.skip("docs/security.md covers every stack; STACKS selects fewer")
    expected = security_report.render(security_report.stack_reports(synth.outdir, checkov_report))
    current = security_report.DOC.read_text() if security_report.DOC.exists() else ""
    assert current == expected, "docs/security.md is out of date: run `make security-report`"


def test_report_counts_an_unexplained_finding(tmp_path: Path) -> None:
    """The page cannot hide a failure: a failed checkov check shows up as unexplained."""
    (tmp_path / "manifest.json").write_text(
        json.dumps({"artifacts": {"S": {"type": "aws:cloudformation:stack"}}})
    )
    (tmp_path / "S.template.json").write_text(json.dumps(_PROBE))
    (tmp_path / "S.metadata.json").write_text("{}")
    failed = {
        "check_id": "CKV_AWS_21",
        "check_name": "versioning",
        "file_path": "/S.template.json",
        "resource": "AWS::S3::Bucket.Plain",
    }
    report = {"results": {"failed_checks": [failed]}}
    (stack,) = security_report.stack_reports(tmp_path, report)
    assert stack.findings == ["checkov AWS::S3::Bucket.Plain CKV_AWS_21: versioning"]
    assert "**Unexplained findings:**" in security_report.render([stack])
