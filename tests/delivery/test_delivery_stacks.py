"""The opt-in delivery stacks, GitHubOidc and DeliveryPipeline, synthesized once (pinned to a tools
account, every policy engine on, the pipeline's stages carrying one pattern stack to keep it
cheap): clean under cdk-nag, the Control Tower rules, checkov and cfn-lint; the roles trust and
reach exactly what they should; the pipeline tests, synthesizes and deploys dev then prod behind
an approval. And the values that cannot work are refused in one line before anything is built.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from scripts import security_report
from stacks.app import (
    OPT_IN,
    POLICY_ENGINES,
    STACKS,
    build_app,
    cdk_json_context,
    selected_stacks,
)
from stacks.github_oidc import GitHubOidcRole, subject
from stacks.shared import ConfigError
from tests.support import ROOT, Synth, synthesize

TOOLS = "333333333333"
CONNECTION = (
    "arn:aws:codeconnections:eu-west-1:333333333333:connection/0a1b2c3d-1111-2222-3333-444455556666"
)
CONTEXT = {
    "stacks": "GitHubOidc,DeliveryPipeline",
    "account": TOOLS,
    "region": "eu-west-1",
    "repository": "acme/shop",
    "DeliveryPipeline:connection_arn": CONNECTION,
    "DeliveryPipeline:stage_stacks": "ScheduledJob",
}
DELIVERY = ("GitHubOidc", "DeliveryPipeline")
GUARD = "cdk-validator-cfnguard"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("delivery")
    app = build_app(outdir=str(outdir), context={**CONTEXT, POLICY_ENGINES: "all"})
    return synthesize(app, outdir)


def _template(synth: Synth, stack: str) -> dict[str, Any]:
    return dict(json.loads((synth.outdir / f"{stack}.template.json").read_text()))


def _resources(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def _stage_templates(synth: Synth) -> list[Path]:
    return sorted(synth.outdir.glob("assembly-DeliveryPipeline-*/*.template.json"))


# ---- the policy engines ----


def test_delivery_stacks_are_opt_in() -> None:
    assert set(selected_stacks(None)) == set(STACKS)
    assert not set(OPT_IN) & set(selected_stacks(None))
    assert selected_stacks("DeliveryPipeline") == ["DeliveryPipeline"]


def test_no_unacknowledged_finding_from_cdk_nag_or_control_tower(synth: Synth) -> None:
    reports = synth.nag_report()["pluginReports"]
    findings = [
        f"{plugin['pluginName']} {violation['ruleName']} at {construct['constructPath']}"
        for plugin in reports
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
    assert findings == [], "\n".join(findings)
    assert synth.error is None
    # The Control Tower rules ran (cdk-nag's wiring is guarded by tests/test_nag.py).
    (guard,) = [p for p in reports if p["pluginName"] == GUARD]
    assert guard["conclusion"] == "success"


def test_no_unexplained_checkov_finding(synth: Synth, tmp_path: Path) -> None:
    templates = [synth.outdir / f"{stack}.template.json" for stack in DELIVERY]
    by_stack = security_report.checkov_by_stack(security_report.run_checkov(templates))
    failed = [
        f"{stack} {check['resource']} {check['check_id']}"
        for stack in DELIVERY
        for check in by_stack[stack]["failed"]
    ]
    assert failed == []
    assert by_stack["DeliveryPipeline"]["passed"]  # checkov judged the pipeline


def test_templates_and_stage_templates_are_cfn_lint_clean(synth: Synth) -> None:
    templates = [synth.outdir / f"{stack}.template.json" for stack in DELIVERY]
    stage_templates = _stage_templates(synth)
    assert len(stage_templates) == 2  # ScheduledJob in Dev and in Prod
    rc = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    result = subprocess.run(  # noqa: S603 - our own venv's cfn-lint on our own files
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "--ignore-checks",
            *rc["ignore_checks"],
            "--",
            *map(str, [*templates, *stage_templates]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_is_looked_up(synth: Synth) -> None:
    stages = sorted(synth.outdir.glob("assembly-DeliveryPipeline-*/manifest.json"))
    manifests = [synth.outdir / "manifest.json", *stages]
    assert [json.loads(m.read_text()).get("missing", []) for m in manifests] == [[], [], []]


# ---- the GitHub OIDC roles ----


def _role_by_subject(template: dict[str, Any], sub: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == sub:
            return logical_id, statement
    raise AssertionError(f"no role trusts {sub}")


def _assumable(template: dict[str, Any], role_id: str) -> list[str]:
    (policy,) = [
        p
        for p in _resources(template, "AWS::IAM::Policy")
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    return sorted(statement["Resource"])


def _bootstrap(account: str, *kinds: str) -> list[str]:
    return sorted(
        f"arn:aws:iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-eu-west-1"
        for kind in kinds
    )


def test_one_github_provider_for_the_sts_audience(synth: Synth) -> None:
    (provider,) = _resources(_template(synth, "GitHubOidc"), "AWS::IAM::OIDCProvider")
    assert provider["Properties"] == {
        "ClientIdList": ["sts.amazonaws.com"],
        "Url": "https://token.actions.githubusercontent.com",
    }
    assert provider["DeletionPolicy"] == "Retain"


def test_pull_requests_may_only_assume_the_lookup_roles(synth: Synth) -> None:
    template = _template(synth, "GitHubOidc")
    role_id, trust = _role_by_subject(template, "repo:acme/shop:pull_request")
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/shop:pull_request",
        }
    }
    assert _assumable(template, role_id) == sorted(
        _bootstrap("111111111111", "lookup") + _bootstrap("222222222222", "lookup")
    )


@pytest.mark.parametrize(
    ("environment", "account"), [("dev", "111111111111"), ("prod", "222222222222")]
)
def test_each_environments_jobs_may_only_deploy_to_its_account(
    synth: Synth, environment: str, account: str
) -> None:
    template = _template(synth, "GitHubOidc")
    role_id, _ = _role_by_subject(template, f"repo:acme/shop:environment:{environment}")
    kinds = ("deploy", "file-publishing", "image-publishing", "lookup")
    assert _assumable(template, role_id) == _bootstrap(account, *kinds)


@pytest.mark.parametrize(
    "repository",
    [
        "acme",
        "*/shop",
        "acme/*",
        "ac*me/shop",
        "acme/shop/extra",
        "-acme/shop",
        "acme/..",
        "acme/shop:ref:refs/heads/main",
        "acme /shop",
        "",
    ],
)
def test_a_wrong_repository_is_refused_in_one_line(repository: str) -> None:
    with pytest.raises(ConfigError) as caught:
        subject(repository, pull_request=True)
    assert str(caught.value).startswith(f"repository={repository!r}: expected owner/name")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError) as from_context:
        build_app(context={**CONTEXT, "stacks": "GitHubOidc", "repository": repository or " "})
    assert "\n" not in str(from_context.value)
    assert "GitHubOidc:repository" in str(from_context.value)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"branch": "main"}, "repo:acme/shop:ref:refs/heads/main"),
        ({"branch": "release/2.x"}, "repo:acme/shop:ref:refs/heads/release/2.x"),
        ({"environment": "prod"}, "repo:acme/shop:environment:prod"),
        ({"pull_request": True}, "repo:acme/shop:pull_request"),
    ],
)
def test_the_subject_is_githubs_claim(kwargs: dict[str, Any], expected: str) -> None:
    assert subject("acme/shop", **kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "expected exactly one of branch, environment or pull_request"),
        ({"branch": "main", "environment": "prod"}, "expected exactly one"),
        ({"branch": "main*"}, "branch='main*': expected a branch name"),
        ({"branch": "a..b"}, "branch='a..b': expected a branch name"),
        ({"environment": "pr*d"}, "environment='pr*d': expected a GitHub environment"),
    ],
)
def test_a_trust_that_is_not_one_branch_environment_or_pull_request_is_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("*", r"\*").replace(".", r"\.")):
        subject("acme/shop", **kwargs)


def test_the_construct_trusts_a_branch_and_reaches_a_custom_qualifier() -> None:
    stack = Stack(
        App(context=cdk_json_context()), "S", env=Environment(account=TOOLS, region="eu-west-1")
    )
    role = GitHubOidcRole(
        stack,
        "Role",
        repository="acme/shop",
        branch="main",
        deploy_to=[Environment(account="111111111111", region="us-east-1")],
        bootstrap_roles=["deploy"],
        qualifier="team1",
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Resource": "arn:aws:iam::111111111111:role/"
                        "cdk-team1-deploy-role-111111111111-us-east-1",
                    }
                ]
            }
        },
    )
    assert role.role.role_arn


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qualifier": "Team_1"}, "qualifier='Team_1'"),
        ({"bootstrap_roles": ["cfn-exec"]}, "bootstrap_roles=['cfn-exec']"),
        ({"deploy_to": []}, "deploy_to=[]"),
        ({"deploy_to": [Environment(region="eu-west-1")]}, "deploy_to account=None"),
    ],
)
def test_the_construct_refuses_what_cannot_name_a_bootstrap_role(
    kwargs: dict[str, Any], message: str
) -> None:
    stack = Stack(App(), "S", env=Environment(account=TOOLS, region="eu-west-1"))
    props: dict[str, Any] = {
        "repository": "acme/shop",
        "pull_request": True,
        "deploy_to": [Environment(account="111111111111", region="eu-west-1")],
        **kwargs,
    }
    with pytest.raises(ConfigError) as caught:
        GitHubOidcRole(stack, "Role", **props)
    assert str(caught.value).startswith(message), str(caught.value)


# ---- the pipeline ----


def _pipeline(synth: Synth) -> dict[str, Any]:
    (pipeline,) = _resources(_template(synth, "DeliveryPipeline"), "AWS::CodePipeline::Pipeline")
    return dict(pipeline["Properties"])


def test_stages_run_source_build_self_update_then_dev_then_prod(synth: Synth) -> None:
    names = [stage["Name"] for stage in _pipeline(synth)["Stages"]]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Prod"]


def test_only_prod_waits_for_a_manual_approval_before_it_deploys(synth: Synth) -> None:
    stages = {stage["Name"]: stage["Actions"] for stage in _pipeline(synth)["Stages"]}
    approvals = {
        name: [a["Name"] for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
        for name, actions in stages.items()
    }
    assert {name: found for name, found in approvals.items() if found} == {"Prod": ["ApproveProd"]}
    prod = sorted(stages["Prod"], key=lambda a: a["RunOrder"])
    assert prod[0]["Name"] == "ApproveProd"
    assert all(a["RunOrder"] > prod[0]["RunOrder"] for a in prod[1:])


def test_the_source_is_the_github_connection(synth: Synth) -> None:
    (source,) = _pipeline(synth)["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION
    assert source["Configuration"]["FullRepositoryId"] == "acme/shop"
    assert source["Configuration"]["BranchName"] == "main"


def test_the_synth_step_runs_the_readme_test_command_then_synthesizes_the_pipeline(
    synth: Synth,
) -> None:
    projects = _resources(_template(synth, "DeliveryPipeline"), "AWS::CodeBuild::Project")
    specs = [json.loads(p["Properties"]["Source"]["BuildSpec"]) for p in projects]
    (commands,) = [
        s["phases"]["build"]["commands"]
        for s in specs
        if "make test" in s["phases"].get("build", {}).get("commands", [])
    ]
    assert commands[0] == "make test"
    assert commands[1].startswith("make synth CDK_ARGS='-c stacks=DeliveryPipeline ")
    for arg in (
        f"-c account={TOOLS}",
        "-c region=eu-west-1",
        f"-c DeliveryPipeline:connection_arn={CONNECTION}",
        "-c DeliveryPipeline:repository=acme/shop",
        "-c DeliveryPipeline:stage_stacks=ScheduledJob",
    ):
        assert arg in commands[1]


def test_each_stage_deploys_its_files_account_under_the_usual_stack_name(synth: Synth) -> None:
    stages = {stage["Name"]: stage["Actions"] for stage in _pipeline(synth)["Stages"]}
    for name, account in (("Dev", "111111111111"), ("Prod", "222222222222")):
        deploys = [a for a in stages[name] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert {a["Configuration"]["StackName"] for a in deploys} == {"ScheduledJob"}
        assert all(account in json.dumps(a["RoleArn"]) for a in deploys)
    # The files' context reached the stages: dev destroys data, prod keeps it.
    for name, policy in (("Dev", "Delete"), ("Prod", "Retain")):
        (template,) = synth.outdir.glob(
            f"assembly-DeliveryPipeline-{name}/*ScheduledJob*.template.json"
        )
        tables = _resources(json.loads(template.read_text()), "AWS::DynamoDB::Table")
        assert tables
        assert {t["DeletionPolicy"] for t in tables} == {policy}


def test_artifacts_are_encrypted_with_a_rotated_key_only_the_deploy_roles_may_decrypt(
    synth: Synth,
) -> None:
    template = _template(synth, "DeliveryPipeline")
    (key,) = _resources(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    outside = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"]["AWS"] != f"arn:aws:iam::{TOOLS}:root"
    ]
    actions = {
        a for s in outside for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"kms:Decrypt", "kms:DescribeKey"}
    principals = json.dumps([s["Principal"] for s in outside])
    for account in ("111111111111", "222222222222"):
        assert f"cdk-hnb659fds-deploy-role-{account}-eu-west-1" in principals


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"DeliveryPipeline:connection_arn": None}, "context DeliveryPipeline:connection_arn=None"),
        (
            {"DeliveryPipeline:connection_arn": "arn:aws:s3:::bucket"},
            "context DeliveryPipeline:connection_arn='arn:aws:s3:::bucket': expected an ARN",
        ),
        ({"repository": "acme/*"}, "context DeliveryPipeline:repository='acme/*'"),
        ({"DeliveryPipeline:branch": "ma*in"}, "context DeliveryPipeline:branch='ma*in'"),
        ({"DeliveryPipeline:environments": "dev,qa"}, "context env='qa': expected the name"),
        ({"DeliveryPipeline:approve": "staging"}, "context DeliveryPipeline:approve='staging'"),
        ({"DeliveryPipeline:stage_stacks": "Nope"}, "context DeliveryPipeline:stage_stacks='Nope'"),
        ({"env": "dev"}, "context env='dev': the pipeline deploys every environment"),
    ],
)
def test_a_pipeline_that_cannot_work_is_refused_in_one_line(
    context: dict[str, Any], message: str
) -> None:
    given = {**CONTEXT, "stacks": "DeliveryPipeline", **context}
    with pytest.raises(ConfigError) as caught:
        build_app(context={k: v for k, v in given.items() if v is not None})
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(message), str(caught.value)
