"""The integ apps offline, as integ-runner's snapshot check runs them without credentials: each
app synthesizes (cdk-nag passing, as the main app must), matches its ``.snapshot/``, tests the
pattern through the smoke checker, and tears down to nothing billed.

All the apps are synthesized once, in this process, in one module fixture (the slow part, about
a minute on the 2-core machine); the tests then read the assemblies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from integ.snapshots import compare, integ_files, snapshot_dir, stack_of, synthesize
from stacks.app import STACKS
from tests.support import SELECTED

FILES = [f for f in integ_files() if stack_of(f) in SELECTED]
# Kept on purpose when a stack is destroyed, by make destroy and by the integ run alike: the
# account-wide API Gateway CloudWatch role (IAM and an account setting, both free) that other
# APIs in the account may rely on.
KEPT_ON_DESTROY = {"AWS::IAM::Role", "AWS::ApiGateway::Account"}


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """Integ file name -> its synthesized assembly, or the error its synth raised."""
    out: dict[str, Path | str] = {}
    for integ_file in FILES:
        try:
            out[integ_file.name] = synthesize(integ_file, tmp_path_factory.mktemp(integ_file.stem))
        except RuntimeError as err:  # cdk-nag's ValidationFailed, or a construct's own error
            out[integ_file.name] = str(err)
    return out


def _assembly(assemblies: dict[str, Path | str], integ_file: Path) -> Path:
    assembly = assemblies[integ_file.name]
    if isinstance(assembly, str):
        pytest.fail(f"{integ_file.name} did not synthesize:\n{assembly[-3000:]}")
    return assembly


def _templates(assembly: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in assembly.glob("*.template.json")}


def _under_test(assembly: Path) -> dict[str, Any]:
    (case,) = json.loads((assembly / "integ.json").read_text())["testCases"].values()
    (stack,) = case["stacks"]
    return dict(json.loads((assembly / f"{stack}.template.json").read_text()))


def _assertion_calls(assembly: Path) -> list[dict[str, Any]]:
    (case,) = json.loads((assembly / "integ.json").read_text())["testCases"].values()
    template = json.loads((assembly / f"{case['assertionStackName']}.template.json").read_text())
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "Custom::DeployAssert@SdkCallLambdainvoke"
    ]


def test_every_stack_has_an_integ_test():
    assert {stack_of(f) for f in integ_files()} == set(STACKS)


@pytest.mark.parametrize("integ_file", FILES, ids=lambda f: f.stem)
def test_integ_app_synthesizes_with_cdk_nag_passing(assemblies, integ_file):
    assembly = _assembly(assemblies, integ_file)
    assert (
        not (assembly / "validation-report.json").exists()
        or not json.loads((assembly / "validation-report.json").read_text())["pluginReports"]
    )


@pytest.mark.parametrize("integ_file", FILES, ids=lambda f: f.stem)
def test_integ_app_matches_its_snapshot(assemblies, integ_file):
    differences = compare(_assembly(assemblies, integ_file), snapshot_dir(integ_file))
    assert not differences, (
        f"{integ_file.name} differs from its snapshot ({'; '.join(map(str, differences))}): "
        "after an intended change run `make integ-update` and read the diff"
    )


# Checks that wait for something asynchronous (an S3 notification, a job, tasks turning healthy,
# an instance booting) answer "pending" until it is done; their assertion must ask again.
WAITING = {"thumbnails", "batch", "web", "reachable"}
CHECKS = {"items_api", "chat", "export", *WAITING}


def _rendered(value: Any) -> Any:
    """A template value with its intrinsic functions (stack outputs, refs) as ``<token>``."""
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        return separator.join(p if isinstance(p, str) else "<token>" for p in parts)
    return value


@pytest.mark.parametrize("integ_file", FILES, ids=lambda f: f.stem)
def test_integ_app_asserts_that_the_smoke_checker_passed(assemblies, integ_file):
    calls = _assertion_calls(_assembly(assemblies, integ_file))
    assert calls, "no assertion invokes the checker"
    for call in calls:
        # integ-tests-alpha JSON-encodes each parameter: the payload is a JSON string of JSON.
        event = json.loads(json.loads(_rendered(call["parameters"]["Payload"])))
        assert event["check"] in CHECKS
        assert json.loads(call["expected"]) == {
            "$ObjectLike": {"StatusCode": 200, "Payload": '"passed"'}
        }
        assert ("stateMachineArn" in call) == (event["check"] in WAITING), event["check"]


@pytest.mark.parametrize("integ_file", FILES, ids=lambda f: f.stem)
def test_integ_stack_leaves_nothing_billed_when_destroyed(assemblies, integ_file):
    template = _under_test(_assembly(assemblies, integ_file))
    kept = {
        logical_id: resource["Type"]
        for logical_id, resource in template["Resources"].items()
        if resource.get("DeletionPolicy", "Delete") != "Delete"
    }
    assert set(kept.values()) <= KEPT_ON_DESTROY, kept


def test_a_changed_template_fails_the_snapshot_comparison(assemblies, tmp_path):
    integ_file = FILES[0] if FILES else pytest.skip("no integ file selected by STACKS")
    snapshot = tmp_path / "changed.snapshot"
    shutil.copytree(snapshot_dir(integ_file), snapshot)
    template_path = next(
        p for p in snapshot.glob("*.template.json") if "DeployAssert" not in p.name
    )
    template = json.loads(template_path.read_text())
    logical_id = next(iter(template["Resources"]))
    template["Resources"][logical_id].setdefault("Properties", {})["Changed"] = True
    template_path.write_text(json.dumps(template))

    (difference,) = compare(_assembly(assemblies, integ_file), snapshot)
    assert difference.file == template_path.name
    assert logical_id in difference.what


def test_only_the_salt_and_asset_hashes_are_normalized(assemblies, tmp_path):
    integ_file = FILES[0] if FILES else pytest.skip("no integ file selected by STACKS")
    snapshot = tmp_path / "salted.snapshot"
    shutil.copytree(snapshot_dir(integ_file), snapshot)
    for path in snapshot.glob("*DeployAssert*.template.json"):
        text = path.read_text()
        assert '"salt": "' in text  # integ-tests-alpha stamps one on every assertion
        path.write_text(text.replace('"salt": "', '"salt": "9'))
    assert compare(_assembly(assemblies, integ_file), snapshot) == []
