"""stacks/shared's option groups and builders on their own: with_defaults, the network and image
checks, the image step, house_table, logged_bucket, powertools_environment and the common
alarms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from stacks.shared import (
    Alarms,
    Architecture,
    ConfigError,
    FunctionOptions,
    ImageOptions,
    NetworkOptions,
    container_image,
    house_table,
    logged_bucket,
    powertools_environment,
    with_defaults,
)

ROOT = Path(__file__).resolve().parent.parent
WEB_IMAGE = ROOT / "containers" / "web"


def _stack() -> Stack:
    return Stack(App(), "Shared")


def test_with_defaults_fills_only_what_the_caller_left_unset() -> None:
    defaults = FunctionOptions(code_path="src", memory_size=256, timeout=Duration.seconds(10))
    given = FunctionOptions(memory_size=1024)
    filled = with_defaults(given, defaults)
    assert filled.memory_size == 1024
    assert filled.code_path == "src"
    assert filled.timeout is defaults.timeout
    # None is a value for reserved_concurrency (reserve none) and the default agrees.
    assert filled.reserved_concurrency is None


def test_an_existing_vpc_with_the_shape_of_a_created_one_is_refused() -> None:
    vpc = ec2.Vpc.from_vpc_attributes(
        _stack(), "Vpc", vpc_id="vpc-1", availability_zones=["eu-west-1a"]
    )
    with pytest.raises(ConfigError, match=r"^network\.vpc given with network\.vpc_cidr='10\.1"):
        NetworkOptions(vpc=vpc, vpc_cidr="10.1.0.0/16").check()
    with pytest.raises(ConfigError, match="nat_gateways=1"):
        NetworkOptions(vpc=vpc, nat_gateways=1).check()
    NetworkOptions(vpc=vpc).check()


def test_subnets_without_their_vpc_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^network\.subnets given without network\.vpc"):
        NetworkOptions(subnets=ec2.SubnetSelection(subnet_group_name="app")).check()


def test_an_image_with_a_second_source_is_refused() -> None:
    image = ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1")
    with pytest.raises(ConfigError, match=r"^image\.image given with image\.repository"):
        ImageOptions(image=image, directory="x").check()


@pytest.mark.parametrize(("tag", "with_repository"), [("v1", False), (None, True)])
def test_a_repository_image_needs_both_repository_and_tag(
    tag: str | None, with_repository: bool
) -> None:
    repository = (
        ecr.Repository.from_repository_name(_stack(), "Repo", "web") if with_repository else None
    )
    with pytest.raises(ConfigError, match="a repository image needs both"):
        ImageOptions(repository=repository, tag=tag).check()


def test_the_image_step_builds_an_asset_for_the_architecture_asked() -> None:
    stack = _stack()
    image, version = container_image(
        stack, "Image", ImageOptions(directory=WEB_IMAGE, architecture=Architecture.ARM64)
    )
    assert isinstance(image, ecs.ContainerImage)
    assert version is not None
    assert len(version) == 64
    assets = [
        child for child in stack.node.find_all() if child.node.id == "Image"
    ]  # DockerImageAsset, never built at synth
    assert assets


def test_the_image_step_uses_a_repository_tag_as_its_version() -> None:
    stack = _stack()
    repository = ecr.Repository.from_repository_name(stack, "Repo", "web")
    _, version = container_image(stack, "Image", ImageOptions(repository=repository, tag="v7"))
    assert version == "v7"
    assert not [c for c in stack.node.find_all() if c.node.id == "Image"]


@pytest.mark.parametrize(("architecture", "rendered"), [("arm64", "ARM64"), ("x86_64", "X86_64")])
def test_architecture_is_what_the_task_runs_on(architecture: str, rendered: str) -> None:
    # ecs.CpuArchitecture values cannot be compared in Python: read what the template says.
    stack = _stack()
    ecs.FargateTaskDefinition(
        stack,
        "Task",
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=Architecture(architecture).cpu,
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
        ),
    )
    (task,) = _resources(stack, "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == rendered


def _resources(stack: Stack, kind: str) -> Mapping[str, Any]:
    return Template.from_stack(stack).find_resources(kind)


def test_house_table_owns_its_keys_and_keeps_the_secure_defaults() -> None:
    stack = _stack()
    keys = {"partition_key": dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)}
    house_table(
        stack,
        "Table",
        keys=keys,
        owned={"partition_key": "the handler reads by id"},
        holds="test rows",
        removal_policy=RemovalPolicy.RETAIN,
        table_props=None,
    )
    (table,) = _resources(stack, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
    with pytest.raises(ConfigError, match=r"table_props\['partition_key'\]: owned"):
        house_table(
            _stack(),
            "Table",
            keys=keys,
            owned={"partition_key": "the handler reads by id"},
            holds="test rows",
            removal_policy=RemovalPolicy.RETAIN,
            table_props={"partition_key": keys["partition_key"]},
        )


def test_logged_bucket_logs_to_the_given_bucket_and_creates_none_when_props_name_one() -> None:
    stack = _stack()
    created: list[str] = []

    def logs() -> s3.IBucket:
        created.append("logs")
        return s3.Bucket(stack, "Logs")

    logged_bucket(
        stack,
        "Data",
        props="bucket_props",
        defaults={"versioned": True},
        overrides=None,
        access_logs=logs,
        log_prefix="data/",
        removal_policy=RemovalPolicy.RETAIN,
        encryption_reason="test data; SSE-S3 is enough here",
    )
    assert created == ["logs"]
    buckets = _resources(stack, "AWS::S3::Bucket")
    data = next(b for key, b in buckets.items() if key.startswith("Data"))
    assert data["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "data/"
    assert data["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}

    other = _stack()
    mine = s3.Bucket(other, "Mine")
    logged_bucket(
        other,
        "Data",
        props="bucket_props",
        defaults={},
        overrides={"server_access_logs_bucket": mine},
        access_logs=lambda: pytest.fail("no log bucket is created when the props name one"),
        log_prefix="data/",
        removal_policy=RemovalPolicy.RETAIN,
        encryption_reason="test data; SSE-S3 is enough here",
    )


def test_powertools_environment_names_the_three_settings() -> None:
    assert powertools_environment("items-api", "ServerlessApi") == {
        "POWERTOOLS_SERVICE_NAME": "items-api",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApi",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_the_common_alarms_watch_the_metric_they_are_named_for() -> None:
    stack = _stack()
    function = lambda_.Function.from_function_name(stack, "Fn", "worker")
    queue = sqs.Queue(stack, "Dlq")
    alarms = Alarms(stack, sns.Topic(stack, "Topic"))
    alarms.function_errors("Errors", function, "errors")
    alarms.function_throttles("Throttles", function, "throttles")
    alarms.delivery_failures("Delivery", function, "delivery")
    alarms.queue_depth("Depth", queue, "depth")
    found = {
        a["Properties"]["AlarmDescription"]: a["Properties"]
        for a in _resources(stack, "AWS::CloudWatch::Alarm").values()
    }
    assert {d: p["MetricName"] for d, p in found.items()} == {
        "errors": "Errors",
        "throttles": "Throttles",
        "delivery": "DestinationDeliveryFailures",
        "depth": "ApproximateNumberOfMessagesVisible",
    }
    assert found["depth"]["Statistic"] == "Maximum"
    assert {p["Period"] for p in found.values()} == {300}
    assert {p["Threshold"] for p in found.values()} == {1}
    assert all(p["AlarmActions"] and p["OKActions"] for p in found.values())
