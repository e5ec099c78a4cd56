# The VALID table keeps one row per line, which is what makes it readable as a table.
# ruff: noqa: E501
"""Every documented context key, table-driven: a valid value changes the template as its doc
says; each invalid value is refused at synth in one line naming the key; and a key no stack
reads (a typo) is refused with the closest known key.

Valid values are built in groups, one app per (stack, group), so the whole table costs a few
synths rather than one per row; invalid values fail before anything is synthesized.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.app import STACKS, build_app, context_keys
from stacks.shared import ConfigError
from tests.support import ROOT

Json = dict[str, Any]
Check = Callable[[Json], bool]


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _resources(template: Json, type_: str) -> list[Json]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def prop(type_: str, key: str, value: Any) -> Check:
    """Some resource of ``type_`` has ``key: value`` somewhere in its properties."""
    return lambda t: any((k, v) == (key, value) for r in _resources(t, type_) for k, v in _walk(r))


def count(type_: str, n: int) -> Check:
    return lambda t: len(_resources(t, type_)) == n


def text(fragment: str) -> Check:
    """``fragment`` appears in the template's resources (an ARN, an environment value...)."""
    return lambda t: fragment in str(t["Resources"])


def deletion(type_: str, policy: str) -> Check:
    return lambda t: (
        bool(_resources(t, type_))
        and all(r.get("DeletionPolicy") == policy for r in _resources(t, type_))
    )


def both(*checks: Check) -> Check:
    return lambda t: all(c(t) for c in checks)


ARN_WAF = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/edge/0a1b2c3d"
ARN_TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"
ARN_CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
EMAIL = "ops@example.com"
SUB = "AWS::SNS::Subscription"

# (stack, group, key, valid value, what the template shows). Rows of one group share one app.
VALID: list[tuple[str, str, str, str, Check]] = [
    ("ServerlessApi", "a", "removal_policy", "destroy", deletion("AWS::DynamoDB::Table", "Delete")),
    ("ServerlessApi", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("ServerlessApi", "a", "throttle_rate_limit", "7", text("'RateLimit': 7")),
    ("ServerlessApi", "a", "throttle_burst_limit", "9", text("'BurstLimit': 9")),
    ("ServerlessApi", "a", "quota_per_day", "500", prop("AWS::ApiGateway::UsagePlan", "Limit", 500)),
    ("ServerlessApi", "a", "cors_allowed_origins", "https://app.example.com", text("https://app.example.com")),
    ("ServerlessApi", "a", "user_pool_id", "eu-west-1_AbC123xyz", both(count("AWS::Cognito::UserPool", 0), text("eu-west-1_AbC123xyz"))),
    ("ServerlessApi", "a", "alarm_topic_arn", ARN_TOPIC, both(count("AWS::SNS::Topic", 0), text(ARN_TOPIC))),
    ("ServerlessApi", "a", "web_acl_arn", ARN_WAF, prop("AWS::WAFv2::WebACLAssociation", "WebACLArn", ARN_WAF)),
    ("ServerlessApi", "a", "cloudwatch_role", "false", count("AWS::ApiGateway::Account", 0)),
    ("ServerlessApi", "b", "auth", "api_key", count("AWS::Cognito::UserPool", 0)),
    ("WebSocketApi", "a", "removal_policy", "destroy", deletion("AWS::DynamoDB::Table", "Delete")),
    ("WebSocketApi", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("WebSocketApi", "a", "throttle_rate_limit", "7", text("'ThrottlingRateLimit': 7")),
    ("WebSocketApi", "a", "throttle_burst_limit", "9", text("'ThrottlingBurstLimit': 9")),
    ("WebSocketApi", "a", "token_source", "header", text("route.request.header.Authorization")),
    ("WebSocketApi", "a", "cloudwatch_role", "false", count("AWS::ApiGateway::Account", 0)),
    ("WebSocketApi", "b", "auth", "iam", prop("AWS::ApiGatewayV2::Route", "AuthorizationType", "AWS_IAM")),
    ("WebSocketApi", "c", "auth", "cognito", text("'TOKEN_VERIFIER': 'cognito'")),
    ("WebSocketApi", "c", "cognito_user_pool_id", "eu-west-1_AbC123xyz", text("eu-west-1_AbC123xyz")),
    ("WebSocketApi", "c", "cognito_client_ids", "4tq1client,5ur2client", text("4tq1client,5ur2client")),
    ("ScheduledJob", "a", "removal_policy", "destroy", deletion("AWS::DynamoDB::Table", "Delete")),
    ("ScheduledJob", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("ScheduledJob", "a", "schedule", "rate(6 hours)", prop("AWS::Scheduler::Schedule", "ScheduleExpression", "rate(6 hours)")),
    ("ScheduledJob", "a", "time_zone", "Europe/Berlin", prop("AWS::Scheduler::Schedule", "ScheduleExpressionTimezone", "Europe/Berlin")),
    ("ScheduledJob", "a", "flexible_window_minutes", "30", prop("AWS::Scheduler::Schedule", "MaximumWindowInMinutes", 30)),
    ("ScheduledJob", "a", "export_prefix", "daily/", text("daily/")),
    ("ScheduledJob", "a", "retention_days", "30", prop("AWS::S3::Bucket", "ExpirationInDays", 30)),
    ("ScheduledJob", "b", "table_name", "orders", both(count("AWS::DynamoDB::Table", 0), text("orders"))),
    ("ScheduledJob", "b", "bucket_name", "my-exports", both(count("AWS::S3::Bucket", 0), text("my-exports"))),
    ("Thumbnails", "a", "removal_policy", "destroy", deletion("AWS::SQS::Queue", "Delete")),
    ("Thumbnails", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("Thumbnails", "a", "source_prefix", "in/", text("'Value': 'in/'")),
    ("Thumbnails", "a", "destination_prefix", "out/", prop("AWS::Lambda::Function", "DESTINATION_PREFIX", "out/")),
    ("Thumbnails", "a", "widths", "100,200", prop("AWS::Lambda::Function", "WIDTHS", "100,200")),
    ("Thumbnails", "a", "output_format", "png", prop("AWS::Lambda::Function", "OUTPUT_FORMAT", "PNG")),
    ("Thumbnails", "a", "memory_size", "2048", prop("AWS::Lambda::Function", "MemorySize", 2048)),
    ("Thumbnails", "a", "reserved_concurrency", "5", prop("AWS::Lambda::Function", "ReservedConcurrentExecutions", 5)),
    ("Thumbnails", "b", "source_bucket_name", "my-uploads", text("my-uploads")),
    ("Thumbnails", "b", "destination_bucket_name", "my-thumbs", text("my-thumbs")),
    ("ContainerService", "a", "removal_policy", "destroy", deletion("AWS::ECR::Repository", "Delete")),
    ("ContainerService", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("ContainerService", "a", "capacity", "fargate_spot", prop("AWS::ECS::Service", "CapacityProvider", "FARGATE_SPOT")),
    ("ContainerService", "a", "architecture", "x86_64", prop("AWS::ECS::TaskDefinition", "CpuArchitecture", "X86_64")),
    ("ContainerService", "a", "cpu", "1024", prop("AWS::ECS::TaskDefinition", "Cpu", "1024")),
    ("ContainerService", "a", "memory_mib", "3072", prop("AWS::ECS::TaskDefinition", "Memory", "3072")),
    ("ContainerService", "a", "min_capacity", "3", prop("AWS::ApplicationAutoScaling::ScalableTarget", "MinCapacity", 3)),
    ("ContainerService", "a", "max_capacity", "4", prop("AWS::ApplicationAutoScaling::ScalableTarget", "MaxCapacity", 4)),
    ("ContainerService", "a", "nat_gateways", "1", count("AWS::EC2::NatGateway", 1)),
    ("ContainerService", "a", "certificate_arn", ARN_CERT, prop("AWS::ElasticLoadBalancingV2::Listener", "Port", 443)),
    ("ContainerService", "c", "allow_plain_http", "true", prop("AWS::ElasticLoadBalancingV2::LoadBalancer", "Scheme", "internet-facing")),
    ("ContainerService", "c", "internet_facing", "true", count("AWS::EC2::InternetGateway", 1)),
    ("ContainerService", "a", "allowed_cidrs", "203.0.113.0/24", prop("AWS::EC2::SecurityGroup", "CidrIp", "203.0.113.0/24")),
    ("ContainerService", "a", "web_acl_arn", ARN_WAF, prop("AWS::WAFv2::WebACLAssociation", "WebACLArn", ARN_WAF)),
    ("ContainerService", "a", "image_tag", "v1.2.3", text(":v1.2.3")),
    ("ContainerService", "a", "keep_tagged_images", "5", text('"countNumber":5')),
    ("ContainerService", "a", "pull_account_ids", "111122223333", text("111122223333")),
    ("ContainerService", "a", "availability_zones", "eu-west-1b,eu-west-1c", prop("AWS::EC2::Subnet", "AvailabilityZone", "eu-west-1c")),
    ("BatchJobs", "a", "removal_policy", "destroy", deletion("AWS::Logs::LogGroup", "Delete")),
    ("BatchJobs", "a", "alarm_email", EMAIL, prop(SUB, "Endpoint", EMAIL)),
    ("BatchJobs", "a", "spot", "false", count("AWS::Batch::ComputeEnvironment", 1)),
    ("BatchJobs", "a", "max_vcpus", "32", prop("AWS::Batch::ComputeEnvironment", "MaxvCpus", 32)),
    ("BatchJobs", "a", "arm", "true", prop("AWS::Batch::JobDefinition", "CpuArchitecture", "ARM64")),
    ("BatchJobs", "a", "vcpus", "0.5", prop("AWS::Batch::JobDefinition", "Value", "0.5")),
    ("BatchJobs", "a", "memory_mib", "3072", prop("AWS::Batch::JobDefinition", "Value", "3072")),
    ("BatchJobs", "a", "timeout_minutes", "30", prop("AWS::Batch::JobDefinition", "AttemptDurationSeconds", 1800)),
    ("BatchJobs", "a", "retry_attempts", "5", prop("AWS::Batch::JobDefinition", "Attempts", 5)),
    ("BatchJobs", "a", "schedule", "cron(0 3 * * ? *)", prop("AWS::Events::Rule", "ScheduleExpression", "cron(0 3 * * ? *)")),
    ("BatchJobs", "a", "array_size", "4", prop("AWS::Events::Rule", "Size", 4)),
    ("BatchJobs", "a", "availability_zones", "eu-west-1b,eu-west-1c", prop("AWS::EC2::Subnet", "AvailabilityZone", "eu-west-1c")),
    ("BatchJobs", "b", "compute", "ec2", prop("AWS::Batch::ComputeEnvironment", "Type", "SPOT")),
    ("BatchJobs", "b", "instance_classes", "c6i,m6i", text("c6i")),
    ("LightsailSite", "a", "instance_name", "blog", prop("AWS::Lightsail::Instance", "InstanceName", "blog-1")),
    ("LightsailSite", "a", "blueprint", "nginx", prop("AWS::Lightsail::Instance", "BlueprintId", "nginx")),
    ("LightsailSite", "a", "bundle", "small_3_0", prop("AWS::Lightsail::Instance", "BundleId", "small_3_0")),
    ("LightsailSite", "a", "availability_zone_letter", "b", text("'b'")),
    ("LightsailSite", "a", "instance_count", "2", count("AWS::Lightsail::Instance", 2)),
    ("LightsailSite", "a", "load_balancer", "true", count("AWS::Lightsail::LoadBalancer", 1)),
    ("LightsailSite", "a", "key_pair_name", "ops", prop("AWS::Lightsail::Instance", "KeyPairName", "ops")),
    ("LightsailSite", "a", "ssh_allowed_cidrs", "203.0.113.7/32", text("203.0.113.7/32")),
    ("LightsailSite", "a", "allow_browser_ssh", "true", text("lightsail-connect")),
    ("LightsailSite", "a", "alarm_email", EMAIL, prop("AWS::Lightsail::ContactMethod", "ContactEndpoint", EMAIL)),
    ("LightsailSite", "a", "database", "true", count("AWS::Lightsail::Database", 1)),
    ("LightsailSite", "a", "media_bucket", "true", count("AWS::Lightsail::Bucket", 1)),
    ("LightsailSite", "a", "removal_policy", "destroy", deletion("AWS::Lightsail::Instance", "Delete")),
    ("LightsailSite", "b", "availability_zone", "eu-west-2b", prop("AWS::Lightsail::Instance", "AvailabilityZone", "eu-west-2b")),
    ("LightsailSite", "b", "auto_snapshot_time", "off", lambda t: "AutoSnapshot" not in str(t)),
    ("LightsailSite", "b", "user_data", "none", lambda t: "UserData" not in str(t)),
    ("LightsailSite", "b", "use_existing_email_contact", "true", both(count("AWS::Lightsail::ContactMethod", 0), text("Email"))),
]  # fmt: skip

# (stack, key, invalid value). The error must name <stack>:<key> (or the prop of that name).
INVALID: list[tuple[str, str, str]] = [
    ("ServerlessApi", "removal_policy", "snapshot"),
    ("ServerlessApi", "alarm_email", "not-an-email"),
    ("ServerlessApi", "throttle_rate_limit", "0"),
    ("ServerlessApi", "throttle_burst_limit", "lots"),
    ("ServerlessApi", "quota_per_day", "abc"),
    ("ServerlessApi", "quota_per_day", "-1"),
    ("ServerlessApi", "cors_allowed_origins", "app.example.com"),
    ("ServerlessApi", "cors_allowed_origins", "https://app.example.com/path"),
    ("ServerlessApi", "auth", "oauth"),
    ("ServerlessApi", "user_pool_id", "notapool"),
    ("ServerlessApi", "alarm_topic_arn", "alarms"),
    ("ServerlessApi", "web_acl_arn", "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1"),
    ("ServerlessApi", "cloudwatch_role", "maybe"),
    ("WebSocketApi", "auth", "cognito-ish"),
    ("WebSocketApi", "token_source", "cookie"),
    ("WebSocketApi", "throttle_rate_limit", "-5"),
    ("WebSocketApi", "alarm_email", "ops@"),
    ("ScheduledJob", "schedule", "every day"),
    ("ScheduledJob", "schedule", "cron(0 2 * * *)"),
    ("ScheduledJob", "schedule", "cron(0 2 * * * *)"),
    ("ScheduledJob", "schedule", "rate(1 hours)"),
    ("ScheduledJob", "time_zone", "Mars/Olympus"),
    ("ScheduledJob", "flexible_window_minutes", "2000"),
    ("ScheduledJob", "retention_days", "-1"),
    ("ScheduledJob", "export_prefix", "exports"),
    ("ScheduledJob", "table_name", "a"),
    ("ScheduledJob", "bucket_name", "My_Bucket"),
    ("Thumbnails", "widths", "small,large"),
    ("Thumbnails", "widths", "0"),
    ("Thumbnails", "output_format", "gif"),
    ("Thumbnails", "memory_size", "64"),
    ("Thumbnails", "reserved_concurrency", "-1"),
    ("Thumbnails", "source_bucket_name", "UPPER"),
    ("Thumbnails", "source_prefix", "/uploads/"),
    ("ContainerService", "nat_gateways", "-1"),
    ("ContainerService", "nat_gateways", "3"),
    ("ContainerService", "cpu", "300"),
    ("ContainerService", "memory_mib", "512"),
    ("ContainerService", "min_capacity", "0"),
    ("ContainerService", "capacity", "lambda"),
    ("ContainerService", "architecture", "sparc"),
    ("ContainerService", "allowed_cidrs", "10.0.0.0/33"),
    ("ContainerService", "allowed_cidrs", "10.0.0.1/24"),
    ("ContainerService", "certificate_arn", "mycert"),
    ("ContainerService", "pull_account_ids", "abc"),
    ("ContainerService", "image_tag", "latest version"),
    ("ContainerService", "keep_tagged_images", "0"),
    ("ContainerService", "availability_zones", "eu-west-1a"),
    ("ContainerService", "availability_zones", "eu-west-1a,moon"),
    ("BatchJobs", "vcpus", "two"),
    ("BatchJobs", "vcpus", "3"),
    ("BatchJobs", "memory_mib", "100000"),
    ("BatchJobs", "timeout_minutes", "0"),
    ("BatchJobs", "instance_classes", "c99"),
    ("BatchJobs", "compute", "lambda"),
    ("BatchJobs", "max_vcpus", "0"),
    ("BatchJobs", "retry_attempts", "11"),
    ("BatchJobs", "array_size", "0"),
    ("BatchJobs", "schedule", "every day"),
    ("BatchJobs", "spot", "sometimes"),
    ("LightsailSite", "availability_zone", "eu-west-1z1"),
    ("LightsailSite", "availability_zone_letter", "z"),
    ("LightsailSite", "blueprint", "joomla"),
    ("LightsailSite", "bundle", "huge"),
    ("LightsailSite", "instance_count", "0"),
    ("LightsailSite", "instance_name", "-bad-"),
    ("LightsailSite", "ssh_allowed_cidrs", "0.0.0.0/0"),
    ("LightsailSite", "auto_snapshot_time", "06:30"),
    ("LightsailSite", "alarm_email", "not-an-email"),
    ("LightsailSite", "user_data", "/no/such/script.sh"),
    ("LightsailSite", "database", "yes please"),
    ("LightsailSite", "key_pair_name", "my key!"),
    ("WebSocketApi", "throttle_burst_limit", "0"),
    ("WebSocketApi", "cognito_user_pool_id", "eu-west-1_AbC123xyz"),  # without auth=cognito
    ("WebSocketApi", "cognito_client_ids", "4tq1client"),  # without auth=cognito
    ("Thumbnails", "destination_bucket_name", "x"),
    ("Thumbnails", "destination_prefix", "/thumbs/"),
    ("ContainerService", "max_capacity", "1"),
    ("ContainerService", "web_acl_arn", "my-acl"),
    ("ContainerService", "internet_facing", "true"),  # without certificate_arn
    ("BatchJobs", "availability_zones", "eu-west-1a,eu-west-1a"),
]
# Every stack reads these two with the same readers; each stack's copy is checked all the same.
INVALID += [
    (stack, key, value)
    for stack in STACKS
    for key, value in (("removal_policy", "snapshot"), ("alarm_email", "not-an-email"))
    if (stack, key, value) not in INVALID
]


@cache
def _group_template(stack: str, group: str) -> Json:
    context = {"stacks": stack}
    context.update(
        {f"{stack}:{key}": value for s, g, key, value, _ in VALID if (s, g) == (stack, group)}
    )
    app = build_app(context=context)
    return dict(Template.from_stack(app.node.find_child(stack)).to_json())  # type: ignore[arg-type]


@cache
def _default_template(stack: str) -> Json:
    app = build_app(context={"stacks": stack})
    return dict(Template.from_stack(app.node.find_child(stack)).to_json())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stack", "group", "key", "value", "shows"),
    VALID,
    ids=[f"{s}:{k}={v}" for s, _, k, v, _ in VALID],
)
def test_valid_value_changes_the_template(
    stack: str, group: str, key: str, value: str, shows: Check
) -> None:
    assert shows(_group_template(stack, group)), f"{stack}:{key}={value} did not show"
    assert not shows(_default_template(stack)), f"the default template already shows {key}"


def test_every_declared_key_has_a_valid_row() -> None:
    covered = {(s, k) for s, _, k, _, _ in VALID}
    declared = {(s, k) for s, keys in context_keys().items() for k in keys}
    assert declared - covered == set()


@pytest.mark.parametrize(
    ("stack", "key", "value"), INVALID, ids=[f"{s}:{k}={v}" for s, k, v in INVALID]
)
def test_invalid_value_is_refused_in_one_line_naming_the_key(
    stack: str, key: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(context={"stacks": stack, f"{stack}:{key}": value})
    message = str(caught.value)
    assert "\n" not in message
    assert key in message, message


def test_every_declared_key_has_an_invalid_row() -> None:
    checked = {(s, k) for s, k, _ in INVALID}
    # Booleans share one reader (get_bool), refused above for cloudwatch_role, spot, database.
    booleans = {(s, k) for s, _, k, v, _ in VALID if v in ("true", "false")}
    declared = {(s, k) for s, keys in context_keys().items() for k in keys}
    assert declared - checked - booleans == set()


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"removal_polcy": "destroy"}, "did you mean removal_policy?"),
        ({"alarm_emial": "ops@example.com"}, "did you mean alarm_email?"),
        ({"ServerlessApi:quota_per_dya": "500"}, "did you mean ServerlessApi:quota_per_day?"),
        ({"ServerlessAPI:quota_per_day": "500"}, "did you mean ServerlessApi:quota_per_day?"),
        ({"ServerlessApi:vcpus": "2"}, "unknown key for ServerlessApi"),
        ({"stacks": "ServerlesApi"}, "unknown stack(s) ['ServerlesApi']"),
        ({"account": "12345"}, "context account='12345': expected a 12-digit"),
        ({"region": "mars-1"}, "context region='mars-1': expected a region"),
    ],
)
def test_unknown_keys_and_bad_environment_are_refused(
    context: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        build_app(context=context)


def test_cdk_keys_are_not_mistaken_for_typos() -> None:
    """Feature flags, what the CLI injects and cached lookups pass the unknown-key check."""
    app = build_app(
        context={
            "stacks": "ServerlessApi",
            "@aws-cdk/core:newStyleStackSynthesis": True,
            "aws:cdk:enable-path-metadata": True,
            "availability-zones:account=123456789012:region=eu-west-1": ["eu-west-1a"],
            "acknowledged-issue-numbers": [32775],
        }
    )
    assert app.node.try_find_child("ServerlessApi") is not None


def _run_app(context: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": context, "CDK_OUTDIR": str(outdir)}
    env.pop("CDK_APP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("context", "line"),
    [
        (
            '{"ServerlessApi:quota_per_day": "abc"}',
            "error: context ServerlessApi:quota_per_day='abc': expected an integer >= 0",
        ),
        (
            '{"ContainerService:nat_gateways": "-1"}',
            "error: context ContainerService:nat_gateways='-1': expected an integer from 0 to 2",
        ),
        ('{"removal_polcy": "destroy"}', "error: context removal_polcy: unknown key; did you mean"),
    ],
)
def test_app_prints_one_line_and_exits_2(context: str, line: str, tmp_path: Path) -> None:
    result = _run_app(context, tmp_path)
    errors = [e for e in result.stderr.splitlines() if e.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(line), result.stderr
    assert "Traceback" not in result.stderr


def test_lightsail_in_a_region_without_it_names_the_stack_and_how_to_leave_it_out(
    tmp_path: Path,
) -> None:
    result = _run_app('{"account": "123456789012", "region": "us-west-1"}', tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = [e for e in result.stderr.splitlines() if e.startswith("error:")]
    assert line.startswith("error: LightsailSite: region 'us-west-1': Lightsail is not available")
    assert line.endswith(
        "-c stacks=ServerlessApi,ScheduledJob,Thumbnails,WebSocketApi,ContainerService,BatchJobs"
    )
    assert "Traceback" not in result.stderr


def test_lightsail_alarm_email_where_cloudformation_cannot_create_the_contact_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(
            context={
                "stacks": "LightsailSite,ServerlessApi",
                "region": "eu-west-2",
                "LightsailSite:alarm_email": "ops@example.com",
            }
        )
    message = str(caught.value)
    assert message.startswith("LightsailSite: alarm_email='ops@example.com': CloudFormation")
    assert "aws lightsail create-contact-method" in message
    assert "use_existing_email_contact=true" in message
    assert message.endswith("-c stacks=ServerlessApi")


def test_lightsail_alarm_email_is_a_contact_where_cloudformation_offers_it() -> None:
    app = build_app(
        context={
            "stacks": "LightsailSite",
            "region": "us-west-2",
            "LightsailSite:alarm_email": "ops@example.com",
        }
    )
    template = Template.from_stack(app.node.find_child("LightsailSite"))  # type: ignore[arg-type]
    template.has_resource_properties(
        "AWS::Lightsail::ContactMethod", {"ContactEndpoint": "ops@example.com"}
    )
