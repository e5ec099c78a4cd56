"""stacks/shared/ on its own: context reads, acknowledgements and the shared resources."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from constructs import Construct

from stacks import shared
from stacks.shared import (
    CONTAINER_ENDPOINTS,
    ContextConfig,
    access_logs_bucket,
    acknowledge,
    add_vpc_endpoints,
    dead_letter_queue,
    exempt,
    flow_logged_vpc,
    merge_props,
)


def _config(context: dict[str, Any]) -> ContextConfig:
    return ContextConfig(Stack(App(context=context), "Pattern"), "Pattern")


def test_stack_key_wins_over_the_shared_key() -> None:
    config = _config({"Pattern:memory": "512", "memory": "128"})
    assert config.get_int("memory", 256) == 512


def test_shared_key_applies_when_the_stack_has_none() -> None:
    assert _config({"memory": "128"}).get_int("memory", 256) == 128


def test_default_applies_when_neither_key_is_set() -> None:
    assert _config({}).get_int("memory", 256) == 256


def test_cli_strings_and_json_values_read_alike() -> None:
    assert _config({"on": "false"}).get_bool("on", True) is False
    assert _config({"on": False}).get_bool("on", True) is False
    assert _config({"cidrs": "10.0.0.0/8, 192.168.0.0/16"}).get_list("cidrs", []) == [
        "10.0.0.0/8",
        "192.168.0.0/16",
    ]
    assert _config({"cidrs": ["10.0.0.0/8"]}).get_list("cidrs", []) == ["10.0.0.0/8"]


def test_empty_optional_string_reads_as_none() -> None:
    assert _config({"alarm_email": ""}).get_optional_str("alarm_email") is None


@pytest.mark.parametrize(
    ("context", "read", "message"),
    [
        ({"memory": "lots"}, lambda c: c.get_int("memory", 1), "Pattern:memory='lots'"),
        ({"on": "maybe"}, lambda c: c.get_bool("on", True), "expected true or false"),
        ({"removal_policy": "snapshot"}, lambda c: c.removal_policy(), "['destroy', 'retain']"),
    ],
)
def test_bad_context_value_fails_with_its_key_and_value(
    context: dict[str, Any], read: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read(_config(context))


@pytest.mark.parametrize(
    ("value", "policy"), [("retain", RemovalPolicy.RETAIN), ("DESTROY", RemovalPolicy.DESTROY)]
)
def test_removal_policy_reads_retain_and_destroy(value: str, policy: RemovalPolicy) -> None:
    assert _config({"removal_policy": value}).removal_policy() == policy


def test_removal_policy_defaults_to_retain() -> None:
    assert _config({}).removal_policy() == RemovalPolicy.RETAIN


def test_acknowledge_refuses_a_reason_a_reviewer_could_not_use() -> None:
    with pytest.raises(ValueError, match="needs a real reason"):
        acknowledge(Stack(App(), "S"), "AwsSolutions-S1", "n/a")


REASON = "A reason long enough for a reviewer to read and judge."


def test_exempt_writes_each_checkov_skip_with_its_reason_on_the_resource() -> None:
    stack = Stack(App(), "S")
    queue = sqs.Queue(stack, "Queue")
    exempt(queue, REASON, checkov="CKV_AWS_27")
    exempt(queue, "Another reason, for another check on it.", checkov=["CKV_AWS_1"])
    (resource,) = Template.from_stack(stack).find_resources("AWS::SQS::Queue").values()
    assert resource["Metadata"]["checkov"]["skip"] == [
        {"id": "CKV_AWS_27", "comment": REASON},
        {"id": "CKV_AWS_1", "comment": "Another reason, for another check on it."},
    ]


def test_exempt_acknowledges_nag_and_control_tower_rules_with_one_reason() -> None:
    stack = Stack(App(), "S")
    queue = sqs.Queue(stack, "Queue")
    exempt(queue, REASON, nag="AwsSolutions-SQS3", guard="sqs_dlq_check")
    acknowledged = {
        rule: reason
        for entry in queue.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }
    assert acknowledged == {
        "Annotation::AwsSolutions-SQS3": REASON,
        "cdk-validator-cfnguard::sqs_dlq_check": REASON,
        # The compliance packs' equivalent (shared.CONCERNS), with the same reason.
        "Annotation::Serverless-SQSRedrivePolicy": REASON,
    }


def test_exempt_refuses_an_exception_that_names_no_rule() -> None:
    with pytest.raises(ValueError, match="names no rule"):
        exempt(Stack(App(), "S"), REASON)


def test_exempt_refuses_a_checkov_skip_where_there_is_no_resource() -> None:
    with pytest.raises(ValueError, match="no CloudFormation resource"):
        exempt(Construct(Stack(App(), "S"), "Bare"), REASON, checkov="CKV_AWS_1")


def test_merge_props_lets_the_caller_override_a_default() -> None:
    assert merge_props({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}
    assert merge_props({"a": 1}, None) == {"a": 1}


@pytest.fixture(scope="module")
def template() -> Template:
    stack = Stack(App(), "Shared")
    access_logs_bucket(
        stack,
        "Logs",
        logs_of="a test",
        removal_policy=RemovalPolicy.RETAIN,
        expiration=Duration.days(30),
    )
    dead_letter_queue(stack, "Dlq", of="a test", removal_policy=RemovalPolicy.RETAIN)
    vpc = flow_logged_vpc(
        stack,
        "Vpc",
        cidr="10.1.0.0/16",
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
        nat_gateways=0,
        log_retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.RETAIN,
    )
    add_vpc_endpoints(stack, vpc, cidr="10.1.0.0/16", services=CONTAINER_ENDPOINTS)
    return Template.from_stack(stack)


def test_access_logs_bucket_is_sse_s3_private_and_expires_logs(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [Match.object_like({"Id": "ExpireLogs", "ExpirationInDays": 30})]
            },
        },
    )


def test_access_logs_bucket_denies_plain_http_and_old_tls(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 86400}
    )


def test_vpc_logs_all_traffic_to_cloudwatch(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"}
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_vpc_has_no_nat_gateway(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)


def test_endpoints_admit_https_from_the_vpc_only(template: Template) -> None:
    template.resource_count_is("AWS::EC2::VPCEndpoint", 1 + len(CONTAINER_ENDPOINTS))
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": "VPC interface endpoints: HTTPS from inside the VPC",
            "SecurityGroupIngress": [
                Match.object_like(
                    {"CidrIp": "10.1.0.0/16", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}
                )
            ],
        },
    )


# -- validation helpers (issue 11) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "at", "ok"),
    [
        ("cron(0 2 * * ? *)", False, True),
        ("cron(0/15 8-18 ? * MON-FRI *)", False, True),
        ("rate(1 hour)", False, True),
        ("rate(5 minutes)", False, True),
        ("at(2030-01-01T00:00:00)", True, True),
        ("at(2030-01-01T00:00:00)", False, False),
        ("cron(0 2 * * *)", False, False),
        ("cron(0 2 * * MON *)", False, False),
        ("rate(1 hours)", False, False),
        ("rate(0 minutes)", False, False),
        ("every day", True, False),
    ],
)
def test_schedule_expressions(expression: str, at: bool, ok: bool) -> None:
    assert (shared.schedule_error(expression, at=at) is None) is ok


@pytest.mark.parametrize(
    ("cpu", "memory", "ok"),
    [(256, 512, True), (256, 4096, False), (1024, 3072, True), (8192, 20480, True),
     (8192, 18432, False), (300, 1024, False)],
)  # fmt: skip
def test_fargate_sizes(cpu: int, memory: int, ok: bool) -> None:
    assert (shared.fargate_size_error(cpu, memory) is None) is ok


def test_time_zones_cidrs_arns_and_zones() -> None:
    assert shared.time_zone_error("Europe/Berlin") is None
    assert shared.time_zone_error("Mars/Olympus") is not None
    assert shared.time_zone_error("../etc/passwd") is not None
    assert shared.cidr_error("10.0.0.0/16") is None
    assert shared.cidr_error("10.0.0.0/33") is not None
    assert shared.cidr_error("10.0.0.1/16") is not None  # host bits set
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    assert shared.arn_error(arn, "acm", "certificate/") is None
    assert shared.arn_error(arn, "sns") is not None
    assert shared.arn_error("mycert", "acm") is not None
    assert shared.zone_error("eu-west-1a", "eu-west-1") is None
    assert shared.zone_error("eu-west-1z1", "eu-west-1") is not None
    assert shared.zone_error("us-east-1a", "eu-west-1") is not None


def test_unknown_context_suggests_the_closest_key() -> None:
    keys = {"Api": ["quota_per_day", "removal_policy"]}
    assert shared.unknown_context_error({"Api:quota_per_day": 1}, keys, ["region"]) is None
    assert (
        shared.unknown_context_error({"@aws-cdk/x:y": True, "cli-telemetry": 0}, keys, []) is None
    )
    problem = shared.unknown_context_error({"removal_polcy": "x"}, keys, ["region"])
    assert problem is not None
    assert "did you mean removal_policy?" in problem
    problem = shared.unknown_context_error({"API:quota_per_day": "1"}, keys, [])
    assert problem is not None
    assert "did you mean Api:quota_per_day?" in problem


def test_undeclared_context_read_is_a_bug() -> None:
    config = ContextConfig(Stack(App(), "Pattern"), "Pattern", ["memory"])
    assert config.get_int("memory", 1) == 1
    with pytest.raises(KeyError, match="does not declare"):
        config.get_int("memroy", 1)


def test_stack_zones_never_look_up_an_account() -> None:
    app = App(context={"Pinned:availability_zones": "eu-west-1b,eu-west-1c"})
    pinned = Stack(app, "Pinned", env=Environment(account="123456789012", region="eu-west-1"))
    assert shared.stack_zones(pinned, ContextConfig(pinned, "Pinned")) == [
        "eu-west-1b",
        "eu-west-1c",
    ]
    other = Stack(app, "Other", env=Environment(account="123456789012", region="eu-west-1"))
    zones = shared.stack_zones(other, ContextConfig(other, "Other"))
    assert other.resolve(zones) == [
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
    ]


def test_nag_text_spells_pinned_and_agnostic_arns() -> None:
    app = App()
    for env, expected in (
        (None, "arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:q"),
        (
            Environment(account="123456789012", region="eu-west-1"),
            "arn:<AWS::Partition>:sqs:eu-west-1:123456789012:q",
        ),
    ):
        stack = Stack(app, f"S{len(app.node.children)}", env=env)
        assert shared.nag_text(stack, stack.format_arn(service="sqs", resource="q")) == expected
