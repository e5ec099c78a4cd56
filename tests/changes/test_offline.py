"""Synthesizing two versions of an app offline (``make diff-offline``), and CDK's own
``cdk diff --template`` as a second opinion on the planted replacements."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from changes.classify import Verdict, classify
from changes.cli import main
from changes.offline import app_command, export
from tests.support import ROOT, Synth

# A CDK app as the CLI sees one: it writes a cloud assembly into $CDK_OUTDIR. Plain Python
# rather than aws-cdk-lib, so the two synths cost the CLI's start-up only, not jsii's.
TINY_APP = """
import json, os, pathlib
out = pathlib.Path(os.environ["CDK_OUTDIR"])
key = pathlib.Path("key.txt").read_text().strip()
table = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
         "UpdateReplacePolicy": "Retain", "Properties": {
             "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
             "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
             "BillingMode": "PAY_PER_REQUEST"}}
(out / "Tiny.template.json").write_text(json.dumps({"Resources": {"ItemsTable": table}}))
(out / "manifest.json").write_text(json.dumps({
    "version": os.environ["TINY_MANIFEST_VERSION"],
    "artifacts": {"Tiny": {"type": "aws:cloudformation:stack",
                           "environment": "aws://unknown-account/unknown-region",
                           "properties": {"templateFile": "Tiny.template.json"}}}}))
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - git on a repository the test made
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],  # noqa: S607
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_app_command_takes_a_missing_interpreter_from_the_repository(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"app": ".venv/bin/python app.py"}))
    assert app_command(tmp_path, ROOT) == f"{ROOT}/.venv/bin/python app.py"
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "python3 app.py"}))
    assert app_command(tmp_path, ROOT) == "python3 app.py"


def test_export_writes_the_committed_tree(tmp_path: Path) -> None:
    export(ROOT, "HEAD", tmp_path)
    committed = subprocess.run(
        ["git", "show", "HEAD:cdk.json"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (tmp_path / "cdk.json").read_text() == committed
    assert not (tmp_path / ".venv").exists()


def test_diff_offline_synthesizes_the_ref_and_the_working_tree(
    synth: Synth,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    version = json.loads((synth.outdir / "manifest.json").read_text())["version"]
    monkeypatch.setenv("TINY_MANIFEST_VERSION", version)  # the one this CLI reads
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "app.py").write_text(TINY_APP)
    (repo / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    (repo / "key.txt").write_text("id\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "released")
    (repo / "key.txt").write_text("pk\n")  # the working tree: a new partition key
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
    assert main(["--base", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "# HEAD -> working tree" in out
    assert "REPLACE  stateful ItemsTable" in out
    assert "Properties.KeySchema" in out
    assert list(scratch.iterdir()) == []  # both checkouts and cdk.outs removed


def test_cdk_diff_calls_destructive_what_the_guard_calls_destructive(
    synth: Synth, tmp_path: Path
) -> None:
    """One planted template: a new table key (replace), a removed log group (orphan), a tag
    and an alarm threshold (in place). ``cdk diff --template`` compares the app's stack to a
    template as if that template were deployed, offline with ``--method template``."""
    current = synth.template_json("ServerlessApi")
    deployed = copy.deepcopy(current)
    resources = deployed["Resources"]
    resources["ItemsTableE2D1F4C3"]["Properties"]["KeySchema"][0]["AttributeName"] = "pk"
    resources["OldLogs00000000"] = copy.deepcopy(resources["ItemsFunctionLogs015C1122"])
    resources["ItemsTableE2D1F4C3"]["Properties"]["Tags"] = [{"Key": "a", "Value": "b"}]
    resources["ItemsApi5xx7553F75B"]["Properties"]["Threshold"] = 50
    (tmp_path / "deployed.json").write_text(json.dumps(deployed))
    result = subprocess.run(  # noqa: S603 - the pinned CDK CLI on our own cloud assembly
        [
            str(ROOT / "node_modules" / ".bin" / "cdk"),
            "diff",
            "ServerlessApi",
            "--app",
            str(synth.outdir),
            "--template",
            str(tmp_path / "deployed.json"),
            "--method",
            "template",
            "--fail-on",
            "destructive",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, CDK_DISABLE_CLI_TELEMETRY="true", CDK_DISABLE_VERSION_CHECK="true"),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    cli_says = {
        lid
        for lid in resources
        if any(lid in line for line in (result.stdout + result.stderr).splitlines()
               if "will be" in line)
    }  # fmt: skip
    guard_says = {
        c.logical_id for c in classify("ServerlessApi", deployed, current) if c.destructive
    }
    assert cli_says == guard_says == {"ItemsTableE2D1F4C3", "OldLogs00000000"}
    assert {c.verdict for c in classify("ServerlessApi", deployed, current) if c.destructive} == {
        Verdict.REPLACE,
        Verdict.ORPHAN,
    }
