"""The GitHub Actions workflows under .github/workflows: zizmor (offline) and the GitHub workflow
JSON schema find nothing in them (and do find what a bad workflow gets wrong, so a silent linter
cannot pass), and each workflow does what the README says it does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")

# A workflow that gets wrong what ours must get right: an action by tag, a pull request title
# expanded into a shell script, default (write-all) token permissions, persisted credentials.
_BAD = """\
name: bad
on: pull_request
jobs:
  echo:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def _zizmor(*paths: Path) -> list[dict[str, Any]]:
    result = subprocess.run(  # noqa: S603 - our venv's zizmor on our files, offline
        [str(BIN / "zizmor"), "--offline", "--no-config", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    if not result.stdout.strip().startswith("["):
        raise AssertionError(
            f"zizmor printed no report (exit {result.returncode}): {result.stderr}"
        )
    return list(json.loads(result.stdout))


def _schema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our venv's check-jsonschema, its vendored schema
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return dict(workflow)


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_the_three_workflows() -> None:
    assert [w.name for w in WORKFLOWS] == ["deploy.yml", "diff.yml", "test.yml"]


def test_zizmor_finds_nothing() -> None:
    findings = [
        f"{f['ident']} {f['locations'][0]['symbolic']['key']}: {f['desc']}"
        for f in _zizmor(*WORKFLOWS)
    ]
    assert findings == [], "\n".join(findings)


def test_workflows_match_the_github_workflow_schema() -> None:
    result = _schema(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_report_a_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(_BAD)
    audits = {f["ident"] for f in _zizmor(bad)}
    assert {"unpinned-uses", "template-injection", "excessive-permissions", "artipacked"} <= audits
    bad.write_text(_BAD.replace("runs-on:", "runs_on:"))
    assert _schema(bad).returncode == 1


def test_every_action_is_pinned_by_commit_with_its_version() -> None:
    lines = [
        line.strip().removeprefix("- ").removeprefix("uses: ")
        for path in WORKFLOWS
        for line in path.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses: ")
        and "uses: $/" not in line  # this repository's own reusable workflow
    ]
    assert lines
    unpinned = [line for line in lines if not _PINNED.match(line)]
    assert unpinned == []
    # One commit per action across the workflows, so an update cannot miss a copy.
    by_action: dict[str, set[str]] = {}
    for line in lines:
        action, _, pin = line.partition("@")
        by_action.setdefault(action, set()).add(pin)
    assert {a: p for a, p in by_action.items() if len(p) > 1} == {}


def test_no_checkout_keeps_the_token() -> None:
    checkouts = [
        step
        for path in WORKFLOWS
        for step in _steps(_load(path.name))
        if step.get("uses", "").startswith("actions/checkout@")
    ]
    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_no_expression_is_expanded_inside_a_script() -> None:
    """Values reach scripts through env:, never as ${{ }} text the shell would parse."""
    scripts = [
        step["run"] for path in WORKFLOWS for step in _steps(_load(path.name)) if "run" in step
    ]
    assert scripts
    assert [s for s in scripts if "${{" in s] == []


def test_every_workflow_grants_nothing_by_default_and_each_job_only_what_it_says() -> None:
    for path in WORKFLOWS:
        workflow = _load(path.name)
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{name}"
            assert set(job["permissions"].values()) <= {"read", "write"}


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(r"^(make test)\s+#", readme, flags=re.MULTILINE)
    return str(command)


def test_the_test_workflow_runs_exactly_the_readme_test_command() -> None:
    workflow = _load("test.yml")
    assert set(workflow["on"]) == {"pull_request", "workflow_call"}
    (job,) = workflow["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s] == [_readme_test_command()]
    assert job["permissions"] == {"contents": "read"}


def test_the_diff_workflow_assumes_a_role_and_posts_both_checks() -> None:
    workflow = _load("diff.yml")
    assert set(workflow["on"]) == {"pull_request"}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    steps = job["steps"]
    (credentials,) = [
        s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert set(credentials["with"]) >= {"role-to-assume", "aws-region"}
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"])
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert 'make diff-offline BASE="origin/${BASE_REF}"' in scripts
    assert "--no-change-set" in scripts  # the read-only role may assume lookup roles only
    assert 'gh pr comment "${PR_NUMBER}" --body-file comment.md' in scripts


def test_the_deploy_workflow_tests_then_deploys_dev_then_prod_behind_its_environment() -> None:
    workflow = _load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert jobs["test"]["uses"] == "$/.github/workflows/test.yml"
    assert (jobs["dev"]["needs"], jobs["prod"]["needs"]) == ("test", "dev")
    for name in ("dev", "prod"):
        assert jobs[name]["environment"] == name
        assert jobs[name]["permissions"] == {"contents": "read", "id-token": "write"}
        runs = [s["run"] for s in jobs[name]["steps"] if "run" in s]
        assert runs == [f"make deploy-env ENVIRONMENT={name}"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_each_deployed_environment_has_its_config_file(name: str) -> None:
    assert (ROOT / "config" / f"{name}.json").is_file()
