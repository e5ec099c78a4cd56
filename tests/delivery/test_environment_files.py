"""config/<env>.json, selected with -c env=<name>: each shipped file synthesizes every stack
pinned to its account and region, with no lookup and zero unacknowledged cdk-nag findings (one
synth per file, shared by its tests); its keys get the same checks as -c keys, an error names the
file, and -c overrides the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

import app as entry_point
import stacks.environments
from stacks.app import build_app
from stacks.shared import ConfigError
from tests.support import SELECTED, Synth, synthesize

# What the shipped files say, checked by hand against config/dev.json and config/prod.json.
SHIPPED = {
    "dev": {"account": "111111111111", "region": "eu-west-1", "deletion": "Delete"},
    "prod": {"account": "222222222222", "region": "eu-west-1", "deletion": "Retain"},
}


@pytest.fixture(scope="module", params=list(SHIPPED))
def env_synth(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Synth]:
    name = request.param
    outdir = tmp_path_factory.mktemp(f"env-{name}")
    app = build_app(outdir=str(outdir), context={"env": name, "stacks": ",".join(SELECTED)})
    return name, synthesize(app, outdir)


def _manifest(synth: Synth) -> dict[str, Any]:
    return dict(json.loads((synth.outdir / "manifest.json").read_text()))


def test_every_file_is_shipped_and_checked() -> None:
    assert stacks.environments.environment_names() == sorted(SHIPPED)


def test_nothing_is_looked_up_in_an_account(env_synth: tuple[str, Synth]) -> None:
    _, synth = env_synth
    assert _manifest(synth).get("missing", []) == []


def test_every_stack_is_pinned_to_the_files_account_and_region(
    env_synth: tuple[str, Synth],
) -> None:
    name, synth = env_synth
    environments = {
        stack: artifact["environment"]
        for stack, artifact in _manifest(synth)["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert set(environments) == set(SELECTED)
    assert set(environments.values()) == {
        f"aws://{SHIPPED[name]['account']}/{SHIPPED[name]['region']}"
    }


def test_no_unacknowledged_nag_findings(env_synth: tuple[str, Synth]) -> None:
    _, synth = env_synth
    findings = [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in synth.nag_report()["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
    assert findings == [], "\n".join(findings)
    assert synth.error is None


def test_dev_destroys_data_and_prod_retains_it(env_synth: tuple[str, Synth]) -> None:
    name, synth = env_synth
    if "ServerlessApi" not in SELECTED:
        pytest.skip("ServerlessApi not in STACKS")
    template = json.loads((synth.outdir / "ServerlessApi.template.json").read_text())
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert tables
    assert {t["DeletionPolicy"] for t in tables} == {SHIPPED[name]["deletion"]}


def test_a_stacks_own_key_from_the_file_reaches_its_template(env_synth: tuple[str, Synth]) -> None:
    """config/dev.json sets ServerlessApi.quota_per_day=1000, prod 10000."""
    name, synth = env_synth
    if "ServerlessApi" not in SELECTED:
        pytest.skip("ServerlessApi not in STACKS")
    template = Template.from_json(
        json.loads((synth.outdir / "ServerlessApi.template.json").read_text())
    )
    limit = {"dev": 1000, "prod": 10000}[name]
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan", {"Quota": {"Limit": limit, "Period": "DAY"}}
    )


# ---- the layers and the checks, without synthesizing ----


def _stack(app_context: dict[str, Any], name: str = "ScheduledJob") -> Stack:
    app = build_app(context={"stacks": name, **app_context})
    stack = app.node.find_child(name)
    assert isinstance(stack, Stack)
    return stack


def test_command_line_overrides_the_file() -> None:
    stack = _stack({"env": "dev", "removal_policy": "retain", "account": "333333333333"})
    assert stack.account == "333333333333"
    assert stack.region == "eu-west-1"  # from the file
    template = Template.from_stack(stack)
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert tables
    assert {t["DeletionPolicy"] for t in tables.values()} == {"Retain"}


def test_without_env_no_file_applies() -> None:
    stack = _stack({})
    assert Stack.of(stack).account.startswith("${Token")


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setattr(stacks.environments, "CONFIG_DIR", folder)
    return folder


def _write(folder: Path, name: str, **keys: Any) -> None:
    body = {"account": "111111111111", "region": "eu-west-1", **keys}
    (folder / f"{name}.json").write_text(json.dumps(body))


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        (
            {"ScheduledJob": {"retention_days": "abc"}},
            "config/qa.json: ScheduledJob:retention_days='abc': expected an integer >= 0",
        ),
        (
            {"removal_policy": "keep"},
            "config/qa.json: removal_policy='keep': expected one of ['destroy', 'retain']",
        ),
        ({"removal_polcy": "destroy"}, "config/qa.json: removal_polcy: unknown key; did you mean"),
        (
            {"ScheduledJob": {"retention_dyas": 3}},
            "config/qa.json: ScheduledJob:retention_dyas: unknown key for ScheduledJob; did you",
        ),
        ({"ScheduledJb": {"retention_days": 3}}, "config/qa.json: ScheduledJb: an object must be"),
        ({"account": "12345"}, "config/qa.json: account='12345': expected a 12-digit"),
        ({"region": "mars-1"}, "config/qa.json: region='mars-1': expected a region"),
        ({"env": "prod"}, "config/qa.json: env: not a key a file may set"),
        ({"@aws-cdk/core:x": True}, "config/qa.json: @aws-cdk/core:x: not a key a file may set"),
        ({"alarm_email": {"a": 1}}, "config/qa.json: alarm_email: an object must be a stack's"),
    ],
)
def test_a_wrong_key_or_value_in_a_file_is_refused_naming_the_file(
    config_dir: Path, keys: dict[str, Any], line: str
) -> None:
    _write(config_dir, "qa", **keys)
    with pytest.raises(ConfigError) as caught:
        build_app(context={"env": "qa", "stacks": "ScheduledJob"})
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(line), str(caught.value)


def test_a_wrong_value_from_the_command_line_is_not_blamed_on_the_file(config_dir: Path) -> None:
    _write(config_dir, "qa", ScheduledJob={"retention_days": 30})
    with pytest.raises(ConfigError, match=r"^context ScheduledJob:retention_days='-1': expected"):
        build_app(
            context={"env": "qa", "stacks": "ScheduledJob", "ScheduledJob:retention_days": "-1"}
        )


def test_an_unknown_environment_names_the_files_there_are() -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(context={"env": "staging"})
    assert str(caught.value) == (
        "context env='staging': expected the name of a file in config/, one of dev, prod"
    )


def test_the_app_prints_one_line_and_exits_2(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """app.py's main over the app as `cdk -c env=qa -c stacks=ScheduledJob` builds it (the CLI's
    context reaches the jsii process at its start, so it is passed here as build_app's)."""
    _write(config_dir, "qa", ScheduledJob={"retention_days": "abc"})
    context = {"env": "qa", "stacks": "ScheduledJob"}
    monkeypatch.setattr(entry_point, "build_app", lambda: build_app(context=context))
    monkeypatch.delenv("CDK_APP_DEBUG", raising=False)
    assert entry_point.main() == 2
    err = capsys.readouterr().err
    assert err == (
        "error: config/qa.json: ScheduledJob:retention_days='abc': expected an integer >= 0\n"
    )
