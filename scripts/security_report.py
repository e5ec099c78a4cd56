"""docs/security.md from a cloud assembly synthesized with every policy engine and every
compliance pack (``cdk synth -c policy_engines=all -c compliance=<all packs>``): per stack, what
cdk-nag (AwsSolutions and the compliance packs), the AWS Control Tower proactive controls
(cfn-guard) and checkov found, and every exception with the reason recorded for it.

Usage: python scripts/security_report.py [cdk.out] [docs/security.md]

The exceptions come from the assembly itself: cdk-nag and Control Tower acknowledgements from
each stack's metadata (``aws:cdk:acknowledged-rules``), checkov skips from each resource's
``Metadata.checkov.skip`` in the template. checkov runs here, from ``.venv-checkov``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
DOC = ROOT / "docs" / "security.md"
GUARD_PREFIX = "cdk-validator-cfnguard::"
NAG_PREFIX = "Annotation::"
ENGINES = ("cdk-nag", "Control Tower", "checkov")
# cdk-nag's compliance packs (context ``compliance``): rule id prefix -> column name.
PACKS = {
    "NIST.800.53.R5-": "NIST 800-53 R5",
    "NIST.800.53.R4-": "NIST 800-53 R4",
    "HIPAA.Security-": "HIPAA",
    "PCI.DSS.321-": "PCI DSS 3.2.1",
    "Serverless-": "Serverless",
}
_RESOURCE_TYPE = re.compile(r'"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"')
_GUARD_RULE = re.compile(r"^rule (\w+) when", re.MULTILINE)


@dataclass
class StackReport:
    stack: str
    resources: int = 0
    # engine -> (construct path, rule) -> reason
    exceptions: dict[str, dict[tuple[str, str], str]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    findings: list[str] = field(default_factory=list)  # unexplained: engine, path, rule
    checkov_passed: int = 0
    guard_rules: set[str] = field(default_factory=set)  # Control Tower rules that apply


def run_checkov(templates: Iterable[Path], checkov: Path = CHECKOV) -> dict[str, Any]:
    """checkov's JSON results for the templates, all in one run (its start-up dominates)."""
    args = [f for template in sorted(templates) for f in ("-f", str(template))]
    result = subprocess.run(
        [str(checkov), "--framework", "cloudformation", "-o", "json", "--skip-download", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith(("{", "[")):
        raise RuntimeError(f"checkov failed (exit {result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    # One framework, one report; checkov prints a list when it ran several.
    return dict(report[0] if isinstance(report, list) else report)


def checkov_by_stack(report: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{stack: {"passed" | "failed" | "skipped": [check, ...]}} from checkov's JSON report."""
    by_stack: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"passed": [], "failed": [], "skipped": []}
    )
    results = report.get("results", {})
    for outcome in ("passed", "failed", "skipped"):
        for check in results.get(f"{outcome}_checks", []):
            stack = Path(check["file_path"]).name.removesuffix(".template.json")
            by_stack[stack][outcome].append(check)
    return by_stack


@cache
def guard_rule_types() -> dict[str, frozenset[str]]:
    """Each bundled Control Tower rule and the resource types it evaluates, read from the
    plugin's own package (so the counts follow the pinned version)."""
    import cdklabs.cdk_validator_cfnguard as plugin

    (bundle,) = (Path(plugin.__file__).parent / "_jsii").glob("*.jsii.tgz")
    rules: dict[str, frozenset[str]] = {}
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if "/rules/control-tower/" in member.name and member.name.endswith(".guard"):
                source = tar.extractfile(member)
                text = source.read().decode() if source else ""
                for name in _GUARD_RULE.findall(text):
                    rules[name] = frozenset(_RESOURCE_TYPE.findall(text))
    return rules


def _logical_ids(metadata: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    return {
        entry["data"]: path
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:logicalId"
    }


def _short(path: str, stack: str) -> str:
    return path.strip("/").removeprefix(f"{stack}/").removesuffix("/Resource")


def stack_reports(outdir: Path, checkov_report: dict[str, Any]) -> list[StackReport]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [
        name
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    ]
    checkov = checkov_by_stack(checkov_report)
    validation = outdir / "validation-report.json"
    plugin_reports = (
        json.loads(validation.read_text())["pluginReports"] if validation.exists() else []
    )
    reports = []
    for stack in stacks:
        report = StackReport(stack)
        template = json.loads((outdir / f"{stack}.template.json").read_text())
        metadata = json.loads((outdir / f"{stack}.metadata.json").read_text())
        resources = template.get("Resources", {})
        report.resources = len(resources)
        types = {r["Type"] for r in resources.values()}
        report.guard_rules = {
            rule for rule, rule_types in guard_rule_types().items() if rule_types & types
        }
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule, reason in entry["data"].items():
                    rule_id = rule.removeprefix(GUARD_PREFIX).removeprefix(NAG_PREFIX)
                    engine = "Control Tower" if rule.startswith(GUARD_PREFIX) else _engine(rule_id)
                    report.exceptions[engine][(_short(path, stack), rule_id)] = reason
        paths = _logical_ids(metadata)
        for check in checkov[stack]["skipped"]:
            logical_id = check["resource"].split(".", 1)[1]
            path = _short(paths.get(logical_id, logical_id), stack)
            comment = check["check_result"].get("suppress_comment", "")
            report.exceptions["checkov"][(path, check["check_id"])] = comment
        report.checkov_passed = len(checkov[stack]["passed"])
        report.findings += [
            f"checkov {check['resource']} {check['check_id']}: {check['check_name']}"
            for check in checkov[stack]["failed"]
        ]
        for plugin in plugin_reports:
            name = plugin["pluginName"]
            engine = "Control Tower" if "cfnguard" in name else _engine(f"{name}-", name)
            for violation in plugin.get("violations", []):
                for construct in violation.get("violatingConstructs", []):
                    if construct["constructPath"].startswith(f"{stack}/"):
                        report.findings.append(
                            f"{engine} {construct['constructPath']} {violation['ruleName']}"
                        )
        reports.append(report)
    return reports


def _engine(rule_id: str, default: str = "cdk-nag") -> str:
    """The compliance pack a cdk-nag rule id belongs to, else ``default`` (AwsSolutions)."""
    for prefix, pack in PACKS.items():
        if rule_id.startswith(prefix):
            return pack
    return "cdk-nag" if default == "AwsSolutions" else default


def _rules_cell(rules: list[tuple[str, str]]) -> str:
    """An exception's rules, one engine's rule a line; the packs' ids (the same rule name in
    each pack) on one line: ``LambdaDLQ`` (NIST 800-53 R5, HIPAA, Serverless)."""
    lines = [f"{engine}: `{rule}`" for engine, rule in rules if engine in ENGINES]
    by_rule: dict[str, list[str]] = defaultdict(list)
    for engine, rule in rules:
        if engine not in ENGINES:
            by_rule[rule.split("-", 1)[1]].append(engine)
    lines += [f"packs: `{rule}` ({', '.join(packs)})" for rule, packs in by_rule.items()]
    return "<br>".join(lines)


def render(reports: list[StackReport]) -> str:
    lines = [
        "# Security review",
        "",
        "Generated by `make security-report` (scripts/security_report.py) from a synth with every",
        "policy engine; `tests/test_policy_engines.py` fails when this page is out of date.",
        "",
        "Three engines check every stack: **cdk-nag** (AwsSolutions pack, on every synth),",
        "the **AWS Control Tower proactive controls** (cfn-guard rules of",
        "`cdklabs.cdk-validator-cfnguard`, in the tests and `make guard`) and **checkov**",
        "(`--framework cloudformation`, in the tests). A finding is fixed or excepted on the one",
        "resource it concerns with the reason below, recorded once for every engine that raises",
        "it (`stacks/shared/exceptions.py` `exempt`). Unexplained findings fail the tests.",
        "",
        "cdk-nag's compliance packs, the rules of the AWS Config conformance packs a governed",
        "account runs, join with `-c compliance=<pack>[,<pack>]` (serverless, nist-800-53-r5,",
        "nist-800-53-r4, hipaa, pci-dss-321); the tests run all five. Most ask again what",
        "another engine asks: `exempt` answers a rule's equivalent in every pack with the same",
        "reason (`CONCERNS` in `stacks/shared/exceptions.py`). The pack columns count exceptions.",
        "",
        "| Stack | Resources | Control Tower rules applicable / passed | checkov checks "
        "passed / skipped | exceptions (nag, CT, checkov) | "
        + " | ".join(PACKS.values())
        + " | unexplained |",
        "| --- | --- | --- | --- | --- | " + "--- | " * len(PACKS) + "--- |",
    ]
    for r in reports:
        guard_excepted = {rule for _, rule in r.exceptions["Control Tower"]}
        counts = ", ".join(str(len(r.exceptions[e])) for e in ENGINES)
        packs = " | ".join(str(len(r.exceptions[p])) for p in PACKS.values())
        lines.append(
            f"| {r.stack} | {r.resources} | {len(r.guard_rules)} / "
            f"{len(r.guard_rules - guard_excepted)} | {r.checkov_passed} / "
            f"{len(r.exceptions['checkov'])} | {counts} | {packs} | {len(r.findings)} |"
        )
    lines += [
        "",
        "A Control Tower rule counts as passed on a stack when it applies to one of the stack's",
        "resource types and no resource of the stack needed an exception to it. cdk-nag reports",
        "only findings, so its column is the exceptions; every other rule passed.",
    ]
    for r in reports:
        lines += ["", f"## {r.stack}", ""]
        if r.findings:
            lines += ["**Unexplained findings:**", ""] + [f"- {f}" for f in r.findings] + [""]
        # One row per resource and reason, listing every engine's rule it answers.
        rows: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for engine in (*ENGINES, *PACKS.values()):
            for (path, rule), reason in sorted(r.exceptions[engine].items()):
                rows[(path, reason)].append((engine, rule))
        if not rows:
            lines.append("No exceptions.")
            continue
        lines += ["| Resource | Rules | Reason |", "| --- | --- | --- |"]
        for (path, reason), rules in sorted(rows.items()):
            cell = reason.replace("|", "\\|")
            lines.append(f"| `{path}` | {_rules_cell(rules)} | {cell} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    outdir = Path(argv[1]) if len(argv) > 1 else ROOT / "cdk.out"
    doc = Path(argv[2]) if len(argv) > 2 else DOC
    reports = stack_reports(outdir, run_checkov(outdir.glob("*.template.json")))
    doc.write_text(render(reports))
    unexplained = sum(len(r.findings) for r in reports)
    print(f"wrote {doc} ({len(reports)} stacks, {unexplained} unexplained findings)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
