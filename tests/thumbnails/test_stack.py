"""Fine-grained checks of the Thumbnails stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.thumbnails import ThumbnailPipeline
from tests.support import Synth

STACK = "Thumbnails"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


@pytest.fixture(scope="module")
def resources(synth: Synth) -> dict[str, Any]:
    return dict(synth.template_json(STACK)["Resources"])


def _id(resources: dict[str, Any], type_: str, prefix: str) -> str:
    (found,) = [k for k, v in resources.items() if v["Type"] == type_ and k.startswith(prefix)]
    return found


def _function_policy(resources: dict[str, Any]) -> list[dict[str, Any]]:
    function = next(
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("PackageType") == "Image"
    )
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


# -- buckets ---------------------------------------------------------------------------------


def test_every_bucket_is_encrypted_private_and_owner_enforced(template: Template) -> None:
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3  # source, destination, access logs
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_every_bucket_denies_plain_http_and_old_tls(
    template: Template, resources: dict[str, Any]
) -> None:
    policies = template.find_resources("AWS::S3::BucketPolicy")
    covered = {p["Properties"]["Bucket"]["Ref"] for p in policies.values()}
    assert covered == {k for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"}
    for policy in policies.values():
        denies = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_source_and_destination_log_access_to_the_log_bucket(
    resources: dict[str, Any],
) -> None:
    logs_id = _id(resources, "AWS::S3::Bucket", "ThumbnailsAccessLogs")
    for prefix, log_prefix in (
        ("ThumbnailsSourceBucket", "SourceBucket/"),
        ("ThumbnailsDestinationBucket", "DestinationBucket/"),
    ):
        bucket = resources[_id(resources, "AWS::S3::Bucket", prefix)]
        assert bucket["Properties"]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": logs_id},
            "LogFilePrefix": log_prefix,
        }


def test_log_bucket_admits_s3_log_delivery_by_policy_not_acl(
    resources: dict[str, Any],
) -> None:
    logs_id = _id(resources, "AWS::S3::Bucket", "ThumbnailsAccessLogs")
    assert "AccessControl" not in resources[logs_id]["Properties"]
    policy = next(
        r
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": logs_id}
    )
    allows = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert any(
        s["Principal"] == {"Service": "logging.s3.amazonaws.com"} and s["Action"] == "s3:PutObject"
        for s in allows
    )


def test_log_bucket_expires_logs_after_a_year(resources: dict[str, Any]) -> None:
    logs_bucket = resources[_id(resources, "AWS::S3::Bucket", "ThumbnailsAccessLogs")]
    assert logs_bucket["Properties"]["LifecycleConfiguration"]["Rules"] == [
        {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "ExpirationInDays": 365,
            "Id": "ExpireLogs",
            # Versioned (tamper evidence): an overwritten or deleted log is kept one more day.
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "Status": "Enabled",
        }
    ]


def test_source_bucket_is_versioned_and_expires_old_versions(resources: dict[str, Any]) -> None:
    props = resources[_id(resources, "AWS::S3::Bucket", "ThumbnailsSourceBucket")]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    assert rules["ExpireOldVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["ExpireOldVersions"]["ExpiredObjectDeleteMarker"] is True


def test_destination_bucket_aborts_incomplete_uploads(resources: dict[str, Any]) -> None:
    props = resources[_id(resources, "AWS::S3::Bucket", "ThumbnailsDestinationBucket")][
        "Properties"
    ]
    assert props["LifecycleConfiguration"]["Rules"] == [
        {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            "Id": "AbortIncompleteUploads",
            "Status": "Enabled",
        }
    ]


def test_buckets_and_queue_are_retained_by_default(template: Template) -> None:
    for type_ in ("AWS::S3::Bucket", "AWS::SQS::Queue"):
        for resource in template.find_resources(type_).values():
            assert resource["DeletionPolicy"] == "Retain"
            assert resource["UpdateReplacePolicy"] == "Retain"


# -- trigger ---------------------------------------------------------------------------------


def test_uploads_under_the_prefix_with_image_suffixes_invoke_the_function(
    template: Template, resources: dict[str, Any]
) -> None:
    (notifications,) = template.find_resources("Custom::S3BucketNotifications").values()
    props = notifications["Properties"]
    assert props["BucketName"] == {"Ref": _id(resources, "AWS::S3::Bucket", "ThumbnailsSource")}
    function_id = _id(resources, "AWS::Lambda::Function", "ThumbnailsFunction")
    configs = props["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    suffixes = set()
    for config in configs:
        assert config["Events"] == ["s3:ObjectCreated:*"]
        assert config["LambdaFunctionArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        rules = {r["Name"]: r["Value"] for r in config["Filter"]["Key"]["FilterRules"]}
        assert rules["prefix"] == "uploads/"
        suffixes.add(rules["suffix"])
    lower = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
    assert suffixes == lower | {s.upper() for s in lower}


def test_only_the_source_bucket_may_invoke_the_function(
    template: Template, resources: dict[str, Any]
) -> None:
    (permission,) = template.find_resources("AWS::Lambda::Permission").values()
    props = permission["Properties"]
    assert props["Principal"] == "s3.amazonaws.com"
    source_id = _id(resources, "AWS::S3::Bucket", "ThumbnailsSource")
    assert props["SourceArn"] == {"Fn::GetAtt": [source_id, "Arn"]}
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}


# -- function --------------------------------------------------------------------------------


def test_function_is_an_arm64_container_image_traced_with_json_logs(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Code": {"ImageUri": Match.any_value()},
            "Architectures": ["arm64"],
            "MemorySize": 1024,
            "Timeout": 60,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )


def test_image_asset_is_built_from_the_thumbnail_container_for_arm64(synth: Synth) -> None:
    """The image is an asset: synth only hashes the folder; `cdk deploy` builds and pushes it."""
    synth.template_json(STACK)  # skips when the stack is filtered out
    manifest = json.loads((synth.outdir / f"{STACK}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"
    built_from = synth.outdir / image["source"]["directory"]
    assert (built_from / "Dockerfile").exists()
    assert (built_from / "thumbnailer" / "app.py").exists()
    assert "thumbnailer.app.lambda_handler" in (built_from / "Dockerfile").read_text()


def test_function_environment_carries_the_settings(
    template: Template, resources: dict[str, Any]
) -> None:
    destination_id = _id(resources, "AWS::S3::Bucket", "ThumbnailsDestinationBucket")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "DESTINATION_BUCKET": {"Ref": destination_id},
                        "DESTINATION_PREFIX": "thumbnails/",
                        "SOURCE_PREFIX": "uploads/",
                        "WIDTHS": "160,640",
                        "OUTPUT_FORMAT": "",
                        "MAX_PIXELS": "50000000",
                        "MAX_BYTES": str(50 * 1024 * 1024),
                    }
                )
            }
        },
    )


def test_function_logs_are_kept_three_months(template: Template, resources: dict[str, Any]) -> None:
    function = resources[_id(resources, "AWS::Lambda::Function", "ThumbnailsFunction")]
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources[log_group_id]["Properties"]["RetentionInDays"] == 90


def test_function_role_has_no_managed_policies(resources: dict[str, Any]) -> None:
    function = resources[_id(resources, "AWS::Lambda::Function", "ThumbnailsFunction")]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_function_reads_only_the_source_prefix_and_writes_only_the_destination_prefix(
    resources: dict[str, Any],
) -> None:
    source = _id(resources, "AWS::S3::Bucket", "ThumbnailsSourceBucket")
    destination = _id(resources, "AWS::S3::Bucket", "ThumbnailsDestinationBucket")
    s3_statements = [
        s for s in _function_policy(resources) if any(a.startswith("s3:") for a in _actions(s))
    ]
    by_actions = {tuple(sorted(_actions(s))): s["Resource"] for s in s3_statements}
    assert by_actions == {
        ("s3:GetObject", "s3:GetObjectVersion"): {
            "Fn::Join": ["", [{"Fn::GetAtt": [source, "Arn"]}, "/uploads/*"]]
        },
        ("s3:ListBucket",): {"Fn::GetAtt": [source, "Arn"]},
        ("s3:DeleteObject", "s3:PutObject"): {
            "Fn::Join": ["", [{"Fn::GetAtt": [destination, "Arn"]}, "/thumbnails/*"]]
        },
    }


def test_function_has_no_wildcard_actions(resources: dict[str, Any]) -> None:
    for statement in _function_policy(resources):
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert "*" not in action
        if statement["Resource"] == "*":
            assert all(a.startswith("xray:") for a in _actions(statement))


# -- failures --------------------------------------------------------------------------------


def test_failed_events_are_retried_then_sent_to_the_failure_queue(
    template: Template, resources: dict[str, Any]
) -> None:
    queue_id = _id(resources, "AWS::SQS::Queue", "ThumbnailsFailureQueue")
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
            "Qualifier": "$LATEST",
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    sends = [s for s in _function_policy(resources) if "sqs:SendMessage" in _actions(s)]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queue_id, "Arn"]}]


def test_failure_queue_is_encrypted_tls_only_and_keeps_messages_14_days(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 86400}
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
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
        },
    )


# -- monitoring ------------------------------------------------------------------------------


def test_alarms_cover_errors_throttles_the_failure_queue_and_lost_deliveries(
    template: Template,
) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms)
    assert metrics == [
        ("AWS/Lambda", "DestinationDeliveryFailures"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ]
    for alarm in alarms:
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]


# -- construct options (a separate small app, with cdk-nag on) --------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """Existing buckets (one KMS-encrypted), custom widths and format, DESTROY, and two
    pipelines in one stack (they share CDK's bucket-notifications handler)."""
    app = App()
    existing = Stack(app, "Existing")
    key = kms.Key(existing, "UploadsKey", enable_key_rotation=True)
    source = s3.Bucket.from_bucket_attributes(
        existing, "Uploads", bucket_name="team-uploads", encryption_key=key
    )
    destination = s3.Bucket.from_bucket_name(existing, "Public", "team-thumbnails")
    ThumbnailPipeline(
        existing,
        "Pipeline",
        source_bucket=source,
        destination_bucket=destination,
        source_prefix="",
        suffixes=[".jpg"],
        widths=[1200, 100, 100],
        output_format="webp",
        reserved_concurrency=5,
    )
    destroy = Stack(app, "Destroy")
    ThumbnailPipeline(destroy, "A", removal_policy=RemovalPolicy.DESTROY)
    ThumbnailPipeline(destroy, "B", source_prefix="b/")
    shared_logs = Stack(app, "SharedLogs")
    ThumbnailPipeline(
        shared_logs,
        "Pipeline",
        access_logs_bucket=s3.Bucket.from_bucket_name(shared_logs, "Logs", "org-access-logs"),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding
    return {
        "existing": Template.from_stack(existing),
        "destroy": Template.from_stack(destroy),
        "shared_logs": Template.from_stack(shared_logs),
    }


def test_existing_buckets_are_used_and_none_created(variants: dict[str, Template]) -> None:
    template = variants["existing"]
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.has_resource_properties(
        "Custom::S3BucketNotifications", {"BucketName": "team-uploads", "Managed": False}
    )


def test_existing_buckets_get_scoped_grants_including_the_kms_key(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    policies = template.find_resources("AWS::IAM::Policy")
    text = json.dumps(policies)
    assert ":s3:::team-uploads/*" in text
    assert ":s3:::team-thumbnails/thumbnails/*" in text
    (key_id,) = [k for k in template.find_resources("AWS::KMS::Key") if k.startswith("UploadsKey")]
    decrypts = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt"
    ]
    assert [s["Resource"] for s in decrypts] == [{"Fn::GetAtt": [key_id, "Arn"]}]


def test_an_existing_access_log_bucket_receives_both_buckets_logs(
    variants: dict[str, Template],
) -> None:
    buckets = variants["shared_logs"].find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2
    destinations = {
        b["Properties"]["LoggingConfiguration"]["DestinationBucketName"] for b in buckets.values()
    }
    assert destinations == {"org-access-logs"}


def test_widths_format_and_concurrency_reach_the_function(variants: dict[str, Template]) -> None:
    variants["existing"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "ReservedConcurrentExecutions": 5,
            "Environment": {
                "Variables": Match.object_like(
                    {"WIDTHS": "100,1200", "OUTPUT_FORMAT": "WEBP", "SOURCE_PREFIX": ""}
                )
            },
        },
    )


def test_suffix_filter_without_prefix_covers_both_cases(variants: dict[str, Template]) -> None:
    (notifications,) = variants["existing"].find_resources("Custom::S3BucketNotifications").values()
    configs = notifications["Properties"]["NotificationConfiguration"][
        "LambdaFunctionConfigurations"
    ]
    filters = sorted(json.dumps(c["Filter"]["Key"]["FilterRules"], sort_keys=True) for c in configs)
    assert filters == [
        json.dumps([{"Name": "suffix", "Value": ".JPG"}], sort_keys=True),
        json.dumps([{"Name": "suffix", "Value": ".jpg"}], sort_keys=True),
    ]


def test_destroy_removes_buckets_and_queue(variants: dict[str, Template]) -> None:
    template = variants["destroy"]
    deleted = [
        r
        for type_ in ("AWS::S3::Bucket", "AWS::SQS::Queue")
        for k, r in template.find_resources(type_).items()
        if k.startswith("A")
    ]
    assert len(deleted) == 4
    assert all(r["DeletionPolicy"] == "Delete" for r in deleted)


def test_two_pipelines_in_one_stack_share_one_notifications_handler(
    variants: dict[str, Template],
) -> None:
    template = variants["destroy"]
    template.resource_count_is("Custom::S3BucketNotifications", 2)
    handlers = [
        k
        for k, v in template.find_resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") != "Image"
    ]
    assert len(handlers) == 1


def _pipeline(**kwargs: Any) -> None:
    ThumbnailPipeline(Stack(App(), "S"), "P", **kwargs)


def test_same_bucket_for_source_and_destination_is_refused() -> None:
    stack = Stack(App(), "S")
    bucket = s3.Bucket(stack, "One")
    with pytest.raises(ValueError, match="different buckets"):
        ThumbnailPipeline(stack, "P", source_bucket=bucket, destination_bucket=bucket)
    with pytest.raises(ValueError, match="different buckets"):
        ThumbnailPipeline(
            stack,
            "Q",
            source_bucket=s3.Bucket.from_bucket_name(stack, "A", "same"),
            destination_bucket=s3.Bucket.from_bucket_name(stack, "B", "same"),
        )
    with pytest.raises(ValueError, match="different buckets"):
        ThumbnailPipeline(
            stack,
            "R",
            source_bucket=bucket,
            destination_bucket=s3.Bucket.from_bucket_name(stack, "C", bucket.bucket_name),
        )


def test_two_created_buckets_are_told_apart_though_their_names_are_unresolved() -> None:
    stack = Stack(App(), "S")
    uploads, thumbs = s3.Bucket(stack, "Uploads"), s3.Bucket(stack, "Thumbs")
    pipeline = ThumbnailPipeline(stack, "P", source_bucket=uploads, destination_bucket=thumbs)
    assert pipeline.destination_bucket is thumbs
    assert pipeline.source_bucket is uploads


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"suffixes": [".jpg", "jpg"]}, "overlap"),
        ({"suffixes": [".tiff", "f"]}, "overlap"),
        ({"widths": []}, "widths"),
        ({"widths": [0, 100]}, "widths"),
        ({"output_format": "gif"}, "output_format"),
        ({"retry_attempts": 3}, "retry_attempts"),
    ],
)
def test_bad_options_fail_at_synth_not_at_deploy(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _pipeline(**kwargs)
