"""Fine-grained checks of the BatchJobs stack: the properties a reviewer would ask about."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, Size, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.app import cdk_json_context
from stacks.batch_jobs import BatchJobQueue
from tests.support import ROOT, Synth

STACK = "BatchJobs"


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template(STACK)


def _only(template: Template, type_: str) -> dict[str, Any]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return dict(next(iter(found.values())))


def _by_logical_id(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {k: dict(v) for k, v in template.find_resources(type_).items()}


def _queue_order(template: Template) -> list[str]:
    """The compute environments' types (FARGATE_SPOT, EC2, ...) in the queue's order."""
    environments = _by_logical_id(template, "AWS::Batch::ComputeEnvironment")
    queue = _only(template, "AWS::Batch::JobQueue")["Properties"]
    order = sorted(queue["ComputeEnvironmentOrder"], key=lambda entry: entry["Order"])
    kinds = []
    for entry in order:
        logical_id = entry["ComputeEnvironment"]["Fn::GetAtt"][0]
        resources = environments[logical_id]["Properties"]["ComputeResources"]
        kinds.append(resources["Type"])
    return kinds


# -- compute ----------------------------------------------------------------------------------


def test_queue_tries_fargate_spot_first_then_on_demand(template: Template) -> None:
    assert _queue_order(template) == ["FARGATE_SPOT", "FARGATE"]


def test_queue_has_its_priority(template: Template) -> None:
    template.has_resource_properties("AWS::Batch::JobQueue", {"Priority": 10, "State": "ENABLED"})


def test_compute_environments_are_managed_with_a_vcpu_ceiling(template: Template) -> None:
    for environment in template.find_resources("AWS::Batch::ComputeEnvironment").values():
        assert environment["Properties"]["Type"] == "managed"
        assert environment["Properties"]["ComputeResources"]["MaxvCpus"] == 64


def test_jobs_run_in_isolated_subnets_without_a_nat_gateway(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {"ContainerProperties": {"NetworkConfiguration": {"AssignPublicIp": "DISABLED"}}},
    )


def test_vpc_endpoints_let_jobs_pull_images_log_and_reach_s3(template: Template) -> None:
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    names = [
        "".join(str(p) for p in e["Properties"]["ServiceName"]["Fn::Join"][1])
        if isinstance(e["Properties"]["ServiceName"], dict)
        else e["Properties"]["ServiceName"]
        for e in endpoints.values()
    ]
    for service in ("ecr.api", "ecr.dkr", "logs", ".s3"):
        assert any(name.endswith(service) for name in names), f"no {service} endpoint: {names}"


# -- job definition ---------------------------------------------------------------------------


def test_job_retries_spot_reclaims_and_infrastructure_errors_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "RetryStrategy": {
                "Attempts": 3,
                "EvaluateOnExit": [
                    {"Action": "RETRY", "OnStatusReason": "Host EC2*"},
                    {"Action": "RETRY", "OnStatusReason": "Your Spot Task was interrupted*"},
                    {"Action": "RETRY", "OnReason": "CannotPullContainerError:*"},
                    {"Action": "RETRY", "OnReason": "ResourceInitializationError*"},
                    # Last: the job's own failures (any exit code) end the job.
                    {"Action": "EXIT", "OnExitCode": "*"},
                ],
            }
        },
    )


def test_job_attempts_time_out_after_an_hour(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Batch::JobDefinition", {"Timeout": {"AttemptDurationSeconds": 3600}}
    )


def test_job_runs_on_fargate_with_its_size(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "PlatformCapabilities": ["FARGATE"],
            "ContainerProperties": {
                "ResourceRequirements": Match.array_equals(
                    [{"Type": "MEMORY", "Value": "2048"}, {"Type": "VCPU", "Value": "1"}]
                ),
            },
        },
    )


def test_job_command_takes_its_input_output_and_shards_as_parameters(
    template: Template,
) -> None:
    definition = _only(template, "AWS::Batch::JobDefinition")["Properties"]
    command = definition["ContainerProperties"]["Command"]
    assert command == [
        "run",
        "--input",
        "Ref::input",
        "--output",
        "Ref::output",
        "--shard-count",
        "Ref::shards",
    ]
    assert set(definition["Parameters"]) == {"input", "output", "shards"}
    assert definition["Parameters"]["shards"] == "1"


def test_container_is_non_root_on_a_read_only_filesystem(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {"ContainerProperties": {"ReadonlyRootFilesystem": True, "User": "10001"}},
    )


def test_image_is_built_from_the_container_folder(template: Template, synth: Synth) -> None:
    image = _only(template, "AWS::Batch::JobDefinition")["Properties"]["ContainerProperties"][
        "Image"
    ]["Fn::Sub"]
    manifest = json.loads((synth.outdir / f"{STACK}.assets.json").read_text())
    [(asset_hash, asset)] = manifest["dockerImages"].items()
    assert image.endswith(f":{asset_hash}")  # the job runs the image this asset builds
    staged = synth.outdir / asset["source"]["directory"]
    source = ROOT / "containers" / "batch_job"
    assert (staged / "Dockerfile").read_text() == (source / "Dockerfile").read_text()
    assert (staged / "compounds" / "cli.py").is_file()
    assert not list(staged.rglob("__pycache__"))
    assert asset["source"]["platform"] == "linux/amd64"


def test_job_logs_go_to_a_log_group_kept_three_months(template: Template) -> None:
    definition = _only(template, "AWS::Batch::JobDefinition")["Properties"]
    options = definition["ContainerProperties"]["LogConfiguration"]["Options"]
    log_group = options["awslogs-group"]["Ref"]
    groups = _by_logical_id(template, "AWS::Logs::LogGroup")
    assert groups[log_group]["Properties"]["RetentionInDays"] == 90
    assert groups[log_group]["DeletionPolicy"] == "Retain"


# -- least privilege --------------------------------------------------------------------------


def _job_role_statements(template: Template) -> list[dict[str, Any]]:
    definition = _only(template, "AWS::Batch::JobDefinition")["Properties"]
    role = definition["ContainerProperties"]["JobRoleArn"]["Fn::GetAtt"][0]
    statements = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_job_role_reads_only_input_and_writes_only_output(template: Template) -> None:
    bucket = next(
        iter(
            template.find_resources(
                "AWS::S3::Bucket",
                {
                    "Properties": {
                        "LifecycleConfiguration": {
                            "Rules": Match.array_with([Match.object_like({"Id": "ExpireOutputs"})])
                        }
                    }
                },
            )
        )
    )
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    assert _job_role_statements(template) == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [arn, "/input/*"]]},
            "Sid": "ReadInput",
        },
        {
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [arn, "/output/*"]]},
            "Sid": "WriteOutput",
        },
    ]


def test_job_role_has_no_managed_policies(template: Template) -> None:
    definition = _only(template, "AWS::Batch::JobDefinition")["Properties"]
    role = definition["ContainerProperties"]["JobRoleArn"]["Fn::GetAtt"][0]
    properties = template.to_json()["Resources"][role]["Properties"]
    assert "ManagedPolicyArns" not in properties
    assert properties["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs-tasks.amazonaws.com"
    }


def test_no_policy_grants_a_wildcard_action(template: Template) -> None:
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert "*" not in action, action


# -- data bucket ------------------------------------------------------------------------------


def test_data_bucket_is_encrypted_private_logged_and_retained(template: Template) -> None:
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}}
    )
    assert len(buckets) == 1
    data = next(iter(buckets.values()))
    properties = data["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert data["DeletionPolicy"] == "Retain"


def test_outputs_expire_after_90_days(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": "ExpireOutputs",
                            "Prefix": "output/",
                            "ExpirationInDays": 90,
                            "Status": "Enabled",
                        }
                    ]
                )
            }
        },
    )


def test_buckets_refuse_plain_http(template: Template) -> None:
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2  # data and access logs
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        )


# -- failure notifications --------------------------------------------------------------------


def test_failed_jobs_of_this_queue_go_to_the_alarm_topic_once_per_submission(
    template: Template,
) -> None:
    queue = next(iter(template.find_resources("AWS::Batch::JobQueue")))
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "detail": {
                    "status": ["FAILED"],
                    "jobQueue": [{"Fn::GetAtt": [queue, "JobQueueArn"]}],
                    # Not each child of an array job: the parent fails once for them all.
                    "arrayProperties": {"index": [{"exists": False}]},
                },
            },
            "Targets": [Match.object_like({"Arn": {"Ref": topic}})],
        },
    )


def test_eventbridge_may_publish_to_the_encrypted_topic(template: Template) -> None:
    topic = _only(template, "AWS::SNS::Topic")
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_policy = template.to_json()["Resources"][key_id]["Properties"]["KeyPolicy"]
    assert any(
        s["Principal"] == {"Service": "events.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(s["Action"])
        for s in key_policy["Statement"]
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_schedule_by_default(template: Template) -> None:
    assert not template.find_resources(
        "AWS::Events::Rule", {"Properties": {"ScheduleExpression": Match.any_value()}}
    )


# -- construct options ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """EC2 Spot with instance classes, a caller's VPC, bucket and ECR image, and a schedule;
    all under cdk-nag, which raises on any unacknowledged finding."""
    app = App(context=cdk_json_context())  # the feature flags `cdk deploy` runs with
    stack = Stack(app, "Ec2Variant")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Existing",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        private_subnet_route_table_ids=["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
    )
    BatchJobQueue(
        stack,
        "Queue",
        vpc=vpc,
        compute="ec2",
        instance_classes=[ec2.InstanceClass.C7G, ec2.InstanceClass.M7G],
        arm=True,
        max_vcpus=256,
        spot_max_vcpus=128,
        priority=50,
        bucket=s3.Bucket.from_bucket_name(stack, "Data", "team-compounds"),
        repository=ecr.Repository.from_repository_name(stack, "Repo", "compounds"),
        tag="2f9c1e7",
        vcpus=4,
        memory=Size.gibibytes(8),
        timeout=Duration.minutes(20),
        retry_attempts=5,
        array_size=8,
        schedule=events.Schedule.cron(minute="0", hour="3"),
        removal_policy=RemovalPolicy.DESTROY,
    )
    on_demand = Stack(app, "OnDemandOnly")
    BatchJobQueue(on_demand, "Queue", spot=False)
    graviton = Stack(app, "Ec2Graviton")
    BatchJobQueue(graviton, "Queue", compute="ec2", arm=True)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return {
        "ec2": Template.from_stack(stack),
        "on_demand": Template.from_stack(on_demand),
        "graviton": Template.from_stack(graviton),
    }


def test_ec2_queue_tries_spot_first_then_on_demand(variants: dict[str, Template]) -> None:
    assert _queue_order(variants["ec2"]) == ["SPOT", "EC2"]


def test_ec2_spot_balances_price_and_capacity(variants: dict[str, Template]) -> None:
    variants["ec2"].has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "ComputeResources": Match.object_like(
                {
                    "Type": "SPOT",
                    "AllocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                    "InstanceTypes": ["c7g", "m7g"],
                    "MaxvCpus": 128,  # spot_max_vcpus: the rest goes to on-demand at once
                    "MinvCpus": 0,
                }
            )
        },
    )


def test_ec2_without_classes_takes_batch_defaults_for_the_image_architecture(
    variants: dict[str, Template],
) -> None:
    # Not "optimal" (C4/M4/R4, x86 only): an arm64 image there would never be placed.
    environments = variants["graviton"].find_resources("AWS::Batch::ComputeEnvironment")
    assert [
        e["Properties"]["ComputeResources"]["InstanceTypes"] for e in environments.values()
    ] == [
        ["default_arm64"],
        ["default_arm64"],
    ]
    assert _queue_order(variants["graviton"]) == ["SPOT", "EC2"]


def test_ec2_instances_run_the_amazon_linux_2023_ecs_ami(variants: dict[str, Template]) -> None:
    for name in ("ec2", "graviton"):
        for environment in variants[name].find_resources("AWS::Batch::ComputeEnvironment").values():
            resources = environment["Properties"]["ComputeResources"]
            assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023"}]


def test_ec2_on_demand_fallback_fills_best_fit(variants: dict[str, Template]) -> None:
    variants["ec2"].has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "ComputeResources": Match.object_like(
                {"Type": "EC2", "AllocationStrategy": "BEST_FIT_PROGRESSIVE", "MaxvCpus": 256}
            )
        },
    )


def test_ec2_job_definition_uses_the_repository_tag_and_options(
    variants: dict[str, Template],
) -> None:
    definition = _only(variants["ec2"], "AWS::Batch::JobDefinition")["Properties"]
    assert definition["PlatformCapabilities"] == ["EC2"]
    assert definition["Timeout"] == {"AttemptDurationSeconds": 1200}
    assert definition["RetryStrategy"]["Attempts"] == 5
    assert sorted(
        (r["Type"], r["Value"]) for r in definition["ContainerProperties"]["ResourceRequirements"]
    ) == [("MEMORY", "8192"), ("VCPU", "4")]
    assert definition["ContainerProperties"]["Image"]["Fn::Join"][1][-1] == "/compounds:2f9c1e7"
    variants["ec2"].has_resource_properties("AWS::Batch::JobQueue", {"Priority": 50})


def test_existing_vpc_and_bucket_are_used_and_none_created(
    variants: dict[str, Template],
) -> None:
    template = variants["ec2"]
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("AWS::ECR::Repository", 0)
    environment = next(iter(template.find_resources("AWS::Batch::ComputeEnvironment").values()))
    assert environment["Properties"]["ComputeResources"]["Subnets"] == [
        "subnet-0aaaaaaaaaaaaaaaa",
        "subnet-0bbbbbbbbbbbbbbbb",
    ]


def test_job_role_is_scoped_to_the_existing_bucket(variants: dict[str, Template]) -> None:
    resources = []
    for policy in variants["ec2"].find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") in ("ReadInput", "WriteOutput"):
                resources.append("".join(str(p) for p in statement["Resource"]["Fn::Join"][1]))
    assert sorted(resources) == [
        "arn:{'Ref': 'AWS::Partition'}:s3:::team-compounds/input/*",
        "arn:{'Ref': 'AWS::Partition'}:s3:::team-compounds/output/*",
    ]


def test_schedule_submits_an_array_job_with_its_shard_count(
    variants: dict[str, Template],
) -> None:
    template = variants["ec2"]
    queue = next(iter(template.find_resources("AWS::Batch::JobQueue")))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [queue, "JobQueueArn"]},
                        "BatchParameters": Match.object_like({"ArrayProperties": {"Size": 8}}),
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 7200,
                            "MaximumRetryAttempts": 4,
                        },
                    }
                )
            ],
        },
    )


def test_spot_off_means_one_on_demand_environment(variants: dict[str, Template]) -> None:
    assert _queue_order(variants["on_demand"]) == ["FARGATE"]


def test_unknown_compute_is_rejected() -> None:
    with pytest.raises(ValueError, match="compute='gpu'"):
        BatchJobQueue(Stack(App(), "S"), "Q", compute="gpu")


def test_scheduled_input_outside_the_input_prefix_is_rejected() -> None:
    with pytest.raises(ValueError, match="not under input_prefix='input/'"):
        BatchJobQueue(
            Stack(App(), "S"),
            "Q",
            schedule=events.Schedule.rate(Duration.days(1)),
            schedule_input_key="uploads/compounds.csv",
        )


def test_repository_without_a_tag_is_rejected() -> None:
    stack = Stack(App(), "S")
    repo = ecr.Repository.from_repository_name(stack, "Repo", "compounds")
    with pytest.raises(ValueError, match="repository needs a tag"):
        BatchJobQueue(stack, "Q", repository=repo)
