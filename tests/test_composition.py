"""Constructs composed as a team would: one stack holding every construct twice, and one stack
where every construct is given existing resources (an imported table, buckets, a VPC with
subnets, a cluster, a repository, a topic, a user pool, a function). Both synthesize with the
app's feature flags and zero unacknowledged cdk-nag findings, and are cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from stacks.app import cdk_json_context
from stacks.batch_jobs import BatchJobQueue
from stacks.container_service import ContainerRepository, FargateWebService
from stacks.lightsail_site import LightsailSite
from stacks.scheduled_job import ScheduledJob, TableExportJob
from stacks.serverless_api import ServerlessApi
from stacks.shared import ConfigError
from stacks.thumbnails import ThumbnailPipeline
from stacks.websocket_api import WebSocketApi
from tests.support import ROOT, synthesize

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ARN = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"


def _every_construct_twice(stack: Stack) -> None:
    for n in (1, 2):
        # API Gateway's logging role is one per account and region: the first API sets it.
        ServerlessApi(stack, f"Api{n}", create_cloudwatch_role=n == 1)
        WebSocketApi(stack, f"Chat{n}", create_cloudwatch_role=False)
        TableExportJob(stack, f"Export{n}")
        ScheduledJob(
            stack,
            f"Job{n}",
            code_path=ROOT / "lambda_src" / "scheduled_job",
            handler="nightly_export.app.lambda_handler",
        )
        ThumbnailPipeline(stack, f"Thumbnails{n}")
        repository = ContainerRepository(stack, f"Repository{n}")
        FargateWebService(stack, f"Web{n}", repository=repository, image_tag="v1")
        BatchJobQueue(stack, f"Batch{n}")
        LightsailSite(stack, f"Site{n}", instance_name=f"site-{n}")


def _with_existing_resources(stack: Stack) -> None:
    table = dynamodb.Table.from_table_name(stack, "Table", "orders")
    topic = sns.Topic.from_topic_arn(stack, "Topic", ARN.format("sns", "alarms"))
    user_pool = cognito.UserPool.from_user_pool_id(stack, "Pool", f"{REGION}_AbC123xyz")
    uploads = s3.Bucket.from_bucket_name(stack, "Uploads", "team-uploads")
    thumbs = s3.Bucket.from_bucket_name(stack, "Thumbs", "team-thumbnails")
    logs_bucket = s3.Bucket.from_bucket_name(stack, "AccessLogs", "team-access-logs")
    exports = s3.Bucket.from_bucket_name(stack, "Exports", "team-exports")
    data = s3.Bucket.from_bucket_name(stack, "Data", "team-batch-data")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.1.0.0/16",
        availability_zones=[f"{REGION}a", f"{REGION}b"],
        public_subnet_ids=["subnet-0a0000000000000a1", "subnet-0a0000000000000a2"],
        private_subnet_ids=["subnet-0b0000000000000b1", "subnet-0b0000000000000b2"],
        public_subnet_route_table_ids=["rtb-0a0000000000000a1", "rtb-0a0000000000000a2"],
        private_subnet_route_table_ids=["rtb-0b0000000000000b1", "rtb-0b0000000000000b2"],
    )
    cluster = ecs.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="team", vpc=vpc, security_groups=[]
    )
    repository = ecr.Repository.from_repository_name(stack, "Repository", "team/web")
    # Without its role: the schedule invokes it; its own async settings are left alone.
    function = lambda_.Function.from_function_attributes(
        stack,
        "Function",
        function_arn=ARN.format("lambda", "function:team-job"),
        same_environment=True,
    )

    ServerlessApi(
        stack,
        "Api",
        table=table,
        user_pool=user_pool,
        alarm_topic=topic,
        create_cloudwatch_role=False,
    )
    WebSocketApi(stack, "Chat", table=table, alarm_topic=topic, create_cloudwatch_role=False)
    TableExportJob(stack, "Export", table=table, bucket=exports, alarm_topic=topic)
    ScheduledJob(stack, "Job", function=function, max_concurrency=None, alarm_topic=topic)
    ThumbnailPipeline(
        stack,
        "Thumbnails",
        source_bucket=uploads,
        destination_bucket=thumbs,
        access_logs_bucket=logs_bucket,
        alarm_topic=topic,
    )
    FargateWebService(
        stack,
        "Web",
        cluster=cluster,
        task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        repository=repository,
        image_tag="v1",
        access_logs_bucket=logs_bucket,
        alarm_topic=topic,
    )
    BatchJobQueue(
        stack,
        "Batch",
        vpc=vpc,
        repository=repository,
        tag="v1",
        bucket=data,
        alarm_topic=topic,
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str | None]:
    outdir = tmp_path_factory.mktemp("composition")
    app = App(context=cdk_json_context(), outdir=str(outdir), analytics_reporting=False)
    _every_construct_twice(Stack(app, "Twice"))
    # Resources imported by ARN live in one account and region: the team's stack is pinned there.
    _with_existing_resources(
        Stack(app, "Existing", env=Environment(account=ACCOUNT, region=REGION))
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return outdir, synthesize(app, outdir).error


def _findings(outdir: Path, stack: str) -> list[str]:
    report_path = outdir / "validation-report.json"
    report: dict[str, Any] = (
        json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    )
    return [
        f"{violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
        if construct["constructPath"].startswith(f"{stack}/")
    ]


@pytest.mark.parametrize("stack", ["Twice", "Existing"])
def test_composed_stack_has_no_unacknowledged_findings(
    assembly: tuple[Path, str | None], stack: str
) -> None:
    outdir, error = assembly
    findings = _findings(outdir, stack)
    assert findings == [], "\n".join(findings)
    assert (outdir / f"{stack}.template.json").exists(), error


def test_composed_stacks_synthesize(assembly: tuple[Path, str | None]) -> None:
    _, error = assembly
    assert error is None, error


def test_existing_resources_are_used_not_created(assembly: tuple[Path, str | None]) -> None:
    outdir, _ = assembly
    template = json.loads((outdir / "Existing.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    created = types & {
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::Cognito::UserPool",
        "AWS::EC2::VPC",
        "AWS::ECS::Cluster",
        "AWS::ECR::Repository",
    }
    assert created == set()
    # Only functions the constructs created (the export job's, the thumbnailer's): the
    # imported one keeps its owner's asynchronous settings.
    invoke_configs = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    ]
    assert invoke_configs
    assert all("Ref" in r["Properties"]["FunctionName"] for r in invoke_configs)


def test_composed_templates_are_cfn_lint_clean(assembly: tuple[Path, str | None]) -> None:
    outdir, _ = assembly
    result = subprocess.run(  # noqa: S603 - our own venv's cfn-lint on our own files
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            "--ignore-checks",
            "W3005",  # as .cfnlintrc.yaml: DependsOn that aws-cdk-lib itself writes
            "--",
            str(outdir / "Twice.template.json"),
            str(outdir / "Existing.template.json"),
        ],
        cwd=outdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scheduled_job_takes_a_function_imported_by_arn_into_a_pinned_stack() -> None:
    stack = Stack(App(), "Pinned", env=Environment(account=ACCOUNT, region=REGION))
    function = lambda_.Function.from_function_arn(
        stack, "Function", ARN.format("lambda", "function:team-job")
    )
    job = ScheduledJob(stack, "Job", function=function, max_concurrency=None)
    assert job.function is function


def test_function_by_arn_in_an_agnostic_stack_is_refused_in_one_line() -> None:
    stack = Stack(App(), "Agnostic")
    function = lambda_.Function.from_function_arn(
        stack, "Function", ARN.format("lambda", "function:team-job")
    )
    with pytest.raises(ConfigError, match="same_environment=True") as caught:
        ScheduledJob(stack, "Job", function=function, max_concurrency=None)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("build", "prop"),
    [
        (lambda s: ServerlessApi(s, "A", cors_allowed_origins=["app.example.com"]), "cors_allowed"),
        (lambda s: ServerlessApi(s, "A", quota_per_day=0), "quota_per_day"),
        (lambda s: WebSocketApi(s, "A", throttle_rate_limit=0), "throttle_rate_limit"),
        (lambda s: TableExportJob(s, "A", alarm_email="ops"), "alarm_email"),
        (lambda s: ThumbnailPipeline(s, "A", memory_size=64), "memory_size"),
        (lambda s: ContainerRepository(s, "A", keep_tagged_images=0), "keep_tagged_images"),
        (lambda s: FargateWebService(s, "A", cpu=256, memory_mib=8192), "memory_mib"),
        (lambda s: FargateWebService(s, "A", nat_gateways=-1), "nat_gateways"),
        (lambda s: FargateWebService(s, "A", min_capacity=5, max_capacity=2), "max_capacity=2"),
        (lambda s: FargateWebService(s, "A", allowed_cidrs=["10.0.0.0/33"]), "allowed_cidrs"),
        (lambda s: BatchJobQueue(s, "A", vcpus=0.3), "vcpus=0.3"),
        (lambda s: BatchJobQueue(s, "A", compute="ec2", vcpus=1.5), "vcpus=1.5"),
        (lambda s: LightsailSite(s, "A", instance_count=0), "instance_count"),
    ],
)  # fmt: skip
def test_construct_props_are_refused_in_one_line_naming_the_prop(
    build: Callable[[Stack], object], prop: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(Stack(App(), "Props"))
    assert prop in str(caught.value)
    assert "\n" not in str(caught.value)
