"""stacks/shared.py on its own: context reads, acknowledgements and the shared resources."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from constructs import Construct

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
