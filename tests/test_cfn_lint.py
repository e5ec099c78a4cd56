"""cfn-lint over every synthesized template, with the repository's .cfnlintrc.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.support import ROOT, SELECTED, Synth


def _run_cfn_lint(templates: list[Path]) -> list[dict[str, object]]:
    result = subprocess.run(  # noqa: S603 - our own venv's cfn-lint on our own files
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", *map(str, templates)],
        cwd=ROOT,  # picks up .cfnlintrc.yaml
        capture_output=True,
        text=True,
        check=False,
    )
    if not result.stdout.strip():
        raise AssertionError(
            f"cfn-lint printed nothing (exit {result.returncode}): {result.stderr}"
        )
    return list(json.loads(result.stdout))


@cache
def _lint_assembly(outdir: Path) -> list[dict[str, object]]:
    """One cfn-lint run over all templates: its start-up costs more than the linting."""
    return _run_cfn_lint(sorted(outdir.glob("*.template.json")))


def _describe(finding: dict[str, object]) -> str:
    rule = finding["Rule"]
    location = finding["Location"]
    assert isinstance(rule, dict)
    assert isinstance(location, dict)
    return f"{rule['Id']} {'/'.join(map(str, location['Path']))}: {finding['Message']}"


@pytest.mark.parametrize("stack", SELECTED)
def test_template_is_cfn_lint_clean(synth: Synth, stack: str) -> None:
    findings = [
        _describe(f)
        for f in _lint_assembly(synth.outdir)
        if Path(str(f["Filename"])).name == f"{stack}.template.json"
    ]
    assert findings == [], "\n".join(findings)


def test_cfn_lint_reports_an_invalid_property(tmp_path: Path) -> None:
    """Guards the harness: a broken template must produce a finding, not silence."""
    bad = tmp_path / "Bad.template.json"
    bad.write_text(
        json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Foo": 1}}}})
    )
    assert [_describe(f).split()[0] for f in _run_cfn_lint([bad])] == ["E3002"]
