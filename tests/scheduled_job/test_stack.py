"""Fine-grained checks of the ScheduledJob stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Stack, TimeZone, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.app import build_app, cdk_json_context
from stacks.scheduled_job import DEFAULT_CODE_PATH, ScheduledJob, TableExportJob
from stacks.shared import acknowledge
from tests.support import Synth

STACK = "ScheduledJob"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


def _only(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    name, resource = next(iter(found.items()))
    return name, dict(resource)


def _ref(template: Template, type_: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [_only(template, type_)[0], "Arn"]}


def _statements(template: Template, role_type_hint: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        (role,) = policy["Properties"]["Roles"]
        if role_type_hint in role["Ref"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# -- the schedule ----------------------------------------------------------------------------


def test_schedule_runs_nightly_in_utc_with_a_flexible_window(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "State": "ENABLED",
        },
    )


def test_schedule_passes_the_scheduled_time_to_the_function(template: Template) -> None:
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == _ref(template, "AWS::Lambda::Function")
    payload = json.loads(target["Input"])
    assert payload["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    assert payload["attempt_number"] == "<aws.scheduler.attempt-number>"


def test_schedule_retries_within_an_hour_then_dead_letters(template: Template) -> None:
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    target = schedule["Properties"]["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": _ref(template, "AWS::SQS::Queue")}


def test_scheduler_role_may_only_invoke_the_function_and_send_to_the_queue(
    template: Template,
) -> None:
    statements = _statements(template, "SchedulerRole")
    assert {s["Action"] for s in statements} == {"lambda:InvokeFunction", "sqs:SendMessage"}
    invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
    assert invoke["Resource"][0] == _ref(template, "AWS::Lambda::Function")


def test_scheduler_role_is_assumable_only_from_this_account(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        }
                    )
                ],
                "Version": "2012-10-17",
            }
        },
    )


# -- the function ----------------------------------------------------------------------------


def test_function_runs_the_export_handler_on_python313_arm64_traced(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "nightly_export.app.lambda_handler",
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "Timeout": 600,
            "MemorySize": 512,
        },
    )


def test_function_concurrency_is_reserved_to_one_so_runs_never_overlap(
    template: Template,
) -> None:
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 1})


def test_lock_outlives_the_function_timeout(template: Template) -> None:
    _, function = _only(template, "AWS::Lambda::Function")
    variables = function["Properties"]["Environment"]["Variables"]
    assert int(variables["LOCK_TTL_SECONDS"]) > function["Properties"]["Timeout"]


def test_failed_runs_are_retried_then_sent_to_the_dead_letter_queue(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {"OnFailure": {"Destination": _ref(template, "AWS::SQS::Queue")}},
        },
    )


def test_function_may_only_scan_the_table(template: Template) -> None:
    dynamo = [
        s for s in _statements(template, "FunctionRole") if str(s["Action"]).startswith("dynamodb")
    ]
    assert dynamo == [
        {
            "Action": "dynamodb:Scan",
            "Effect": "Allow",
            "Resource": _ref(template, "AWS::DynamoDB::Table"),
        }
    ]


def test_function_s3_access_is_limited_to_the_export_prefix(template: Template) -> None:
    s3_statements = [
        s for s in _statements(template, "FunctionRole") if "s3:" in json.dumps(s["Action"])
    ]
    objects = next(s for s in s3_statements if s["Action"] != "s3:ListBucket")
    assert sorted(objects["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert objects["Resource"]["Fn::Join"][1][1] == "/exports/*"
    listing = next(s for s in s3_statements if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["exports/*"]}}


# -- the dead-letter queue and alarms ----------------------------------------------------------


def test_dead_letter_queue_is_encrypted_kept_14_days_and_tls_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1_209_600}
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                }
            )
        },
    )


def test_a_message_in_the_dead_letter_queue_raises_an_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [Match.any_value()],
        },
    )


def test_a_function_error_raises_an_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Threshold": 1,
            "AlarmActions": [Match.any_value()],
            "OKActions": [Match.any_value()],
        },
    )


def test_a_failed_run_that_cannot_reach_the_queue_raises_an_alarm(template: Template) -> None:
    (function,) = template.find_resources("AWS::Lambda::Function")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "DestinationDeliveryFailures",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function}}],
            "Statistic": "Sum",
            "Threshold": 1,
            "AlarmActions": [Match.any_value()],
        },
    )


# -- the bucket and table --------------------------------------------------------------------


def _export_bucket(template: Template) -> dict[str, Any]:
    # The access-log bucket is versioned too (shared.access_logs_bucket); pick the export one.
    buckets = {
        key: bucket
        for key, bucket in template.find_resources(
            "AWS::S3::Bucket", {"Properties": {"VersioningConfiguration": Match.any_value()}}
        ).items()
        if "AccessLogs" not in key
    }
    assert len(buckets) == 1
    return dict(next(iter(buckets.values())))


def test_export_bucket_is_encrypted_private_and_versioned(template: Template) -> None:
    props = _export_bucket(template)["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_export_bucket_logs_access_to_the_log_bucket(template: Template) -> None:
    props = _export_bucket(template)["Properties"]
    logs = props["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert template.find_resources("AWS::S3::Bucket")[logs]["Properties"]["BucketEncryption"]


def test_export_bucket_ages_out_exports_and_old_versions(template: Template) -> None:
    rules = _export_bucket(template)["Properties"]["LifecycleConfiguration"]["Rules"]
    ages = next(r for r in rules if r["Id"] == "ExportsAge")
    assert ages["ExpirationInDays"] == 365
    assert ages["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert ages["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert ages["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_buckets_deny_requests_without_tls(template: Template) -> None:
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_data_is_retained_by_default(template: Template) -> None:
    for type_ in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"):
        for resource in template.find_resources(type_).values():
            assert resource["DeletionPolicy"] == "Retain", type_


def test_table_has_pitr_and_deletion_protection(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    )


# -- context and construct options -----------------------------------------------------------


def test_context_sets_schedule_time_zone_and_existing_resources() -> None:
    app = build_app(
        context={
            "stacks": STACK,
            "ScheduledJob:schedule": "cron(30 1 * * ? *)",
            "ScheduledJob:time_zone": "Europe/Berlin",
            "ScheduledJob:flexible_window_minutes": "0",
            "ScheduledJob:table_name": "orders",
            "ScheduledJob:bucket_name": "my-exports",
        }
    )
    template = Template.from_stack(app.node.find_child(STACK))  # type: ignore[arg-type]
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(30 1 * * ? *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "FlexibleTimeWindow": {"Mode": "OFF"},
        },
    )
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    template.resource_count_is("AWS::S3::Bucket", 0)
    app.synth()  # nag runs on synth: imported resources need no other acknowledgements


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """The generic construct with a caller's queue, a rate, no reserved concurrency and
    DESTROY; the export construct with a caller's table and bucket; and with SSE-KMS."""
    app = App(context=cdk_json_context())  # the feature flags cdk deploy runs with
    stack = Stack(app, "Generic")
    queue = sqs.Queue(
        stack,
        "TeamDlq",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    ScheduledJob(
        stack,
        "Job",
        code_path=DEFAULT_CODE_PATH,
        handler="nightly_export.app.lambda_handler",
        schedule=scheduler.ScheduleExpression.rate(Duration.minutes(15)),
        dead_letter_queue=queue,
        max_concurrency=None,
        payload={"job": "hourly-report"},
        removal_policy=RemovalPolicy.DESTROY,
        alarm_email="ops@example.com",
    )
    acknowledge(queue, "AwsSolutions-SQS3", "Stands in for a team's own dead-letter queue.")
    export_stack = Stack(app, "Export")
    table = dynamodb.Table(
        export_stack,
        "Orders",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
    )
    bucket = s3.Bucket.from_bucket_name(export_stack, "Existing", "team-exports")
    TableExportJob(
        export_stack,
        "Export",
        table=table,
        bucket=bucket,
        prefix="orders/",
        schedule=scheduler.ScheduleExpression.cron(
            hour="3", minute="0", time_zone=TimeZone.EUROPE_BERLIN
        ),
        flexible_time_window=None,
    )
    own_stack = Stack(app, "OwnFunction")
    report = lambda_.Function(
        own_stack,
        "Report",
        runtime=lambda_.Runtime.NODEJS_22_X,
        handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => {};"),
        reserved_concurrent_executions=1,
    )
    ScheduledJob(
        own_stack,
        "Job",
        function=report,
        max_concurrency=None,
        schedule=scheduler.ScheduleExpression.rate(Duration.hours(1)),
    )
    stand_in = "Stands in for a team's own function, which is not under review here."
    acknowledge(report, "AwsSolutions-L1", stand_in)
    assert report.role is not None
    acknowledge(
        report.role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        stand_in,
    )
    imported_stack = Stack(app, "ImportedFunction")
    ScheduledJob(
        imported_stack,
        "Job",
        function=lambda_.Function.from_function_attributes(
            imported_stack,
            "TeamReport",
            function_arn="arn:aws:lambda:eu-west-1:111122223333:function:team-report",
            role=iam.Role.from_role_name(imported_stack, "TeamReportRole", "team-report-role"),
            same_environment=True,
        ),
        max_concurrency=None,
    )
    kms_stack = Stack(app, "Kms")
    TableExportJob(kms_stack, "Export", bucket_props={"encryption": s3.BucketEncryption.KMS})
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding
    return {
        "generic": Template.from_stack(stack),
        "own_function": Template.from_stack(own_stack),
        "imported_function": Template.from_stack(imported_stack),
        "export": Template.from_stack(export_stack),
        "kms": Template.from_stack(kms_stack),
    }


def test_an_existing_dead_letter_queue_is_used_and_none_created(
    variants: dict[str, Template],
) -> None:
    template = variants["generic"]
    template.resource_count_is("AWS::SQS::Queue", 1)
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
        "TeamDlq"
    )


def test_rate_schedules_and_extra_payload_reach_the_schedule(
    variants: dict[str, Template],
) -> None:
    _, schedule = _only(variants["generic"], "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    payload = json.loads(schedule["Properties"]["Target"]["Input"])
    assert payload["job"] == "hourly-report"
    assert payload["scheduled_time"] == "<aws.scheduler.scheduled-time>"


def test_a_function_of_yours_is_scheduled_and_none_created(
    variants: dict[str, Template],
) -> None:
    template = variants["own_function"]
    (name,) = template.find_resources("AWS::Lambda::Function")
    assert name.startswith("Report")
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [name, "Arn"]}
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 hour)"


def test_a_function_of_yours_gets_retries_and_the_dead_letter_queue(
    variants: dict[str, Template],
) -> None:
    template = variants["own_function"]
    (name,) = template.find_resources("AWS::Lambda::Function")
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": name},
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": _ref(template, "AWS::SQS::Queue")}},
        },
    )


def test_an_imported_function_gets_retries_dead_letters_and_an_error_alarm(
    variants: dict[str, Template],
) -> None:
    template = variants["imported_function"]
    template.resource_count_is("AWS::Lambda::Function", 0)
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": "team-report",
            "DestinationConfig": {"OnFailure": {"Destination": _ref(template, "AWS::SQS::Queue")}},
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "team-report"}],
        },
    )
    # Its role (imported by name) may send failed runs to the queue.
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": ["team-report-role"],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Resource": _ref(template, "AWS::SQS::Queue")})]
                ),
                "Version": "2012-10-17",
            },
        },
    )


def test_unreserved_concurrency_is_possible_on_request(variants: dict[str, Template]) -> None:
    _, function = _only(variants["generic"], "AWS::Lambda::Function")
    assert "ReservedConcurrentExecutions" not in function["Properties"]


def test_destroy_removes_the_log_group_with_the_stack(variants: dict[str, Template]) -> None:
    _, log_group = _only(variants["generic"], "AWS::Logs::LogGroup")
    assert log_group["DeletionPolicy"] == "Delete"


def test_export_into_existing_resources_creates_neither(variants: dict[str, Template]) -> None:
    template = variants["export"]
    template.resource_count_is("AWS::DynamoDB::Table", 1)  # the caller's
    template.resource_count_is("AWS::S3::Bucket", 0)


def test_export_prefix_scopes_the_grant_on_an_existing_bucket(
    variants: dict[str, Template],
) -> None:
    template = variants["export"]
    text = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert ":s3:::team-exports/orders/*" in text
    assert "/exports/*" not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_event_age": Duration.hours(7)}, "max_event_age"),
        ({"max_event_age": Duration.seconds(30)}, "max_event_age"),
        ({"function_retry_attempts": 3}, "function_retry_attempts"),
        ({"retry_attempts": 186}, "retry_attempts"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_out_of_range_options_are_refused(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Bad")
    with pytest.raises(ValueError, match=message):
        ScheduledJob(
            stack, "Job", code_path=DEFAULT_CODE_PATH, handler="x.app.lambda_handler", **kwargs
        )


def _stand_in_function(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function.from_function_name(stack, "Existing", "team-report")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give code_path and handler"),
        ({"code_path": DEFAULT_CODE_PATH}, "give code_path and handler"),
        ({"function": True, "handler": "x.app.lambda_handler"}, "not both"),
        ({"function": True}, "max_concurrency cannot be applied"),
    ],
)
def test_a_job_needs_exactly_one_function(kwargs: dict[str, Any], message: str) -> None:
    stack = Stack(App(), "Bad")
    if kwargs.pop("function", False):
        kwargs["function"] = _stand_in_function(stack)
    with pytest.raises(ValueError, match=message):
        ScheduledJob(stack, "Job", **kwargs)


@pytest.mark.parametrize("prefix", ["exports", "/exports/"])
def test_a_malformed_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        TableExportJob(Stack(App(), "Bad"), "Export", prefix=prefix)


def test_a_kms_encrypted_bucket_gets_only_the_key_actions_s3_needs(
    variants: dict[str, Template],
) -> None:
    statements = [
        st
        for policy in variants["kms"].find_resources("AWS::IAM::Policy").values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "kms:" in json.dumps(st["Action"])
    ]
    assert [sorted(st["Action"]) for st in statements] == [["kms:Decrypt", "kms:GenerateDataKey"]]
