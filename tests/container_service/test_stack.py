"""Assertions on the ContainerService template (the app's synth) and on construct options
(one small extra app with cdk-nag on: Fargate Spot with a CI image, secrets and HTTPS; EC2)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.app import build_app
from stacks.container_service import (
    Architecture,
    Capacity,
    ContainerRepository,
    ContainerServiceStack,
    FargateWebService,
)
from stacks.shared import ConfigError
from tests.support import ROOT, Synth

CERTIFICATE_ARN = (
    "arn:aws:acm:eu-west-1:111111111111:certificate/0f2b7a52-7d2e-4d4c-9c3a-b1b1b1b1b1b1"
)
WEB_ACL_ARN = (
    "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/web/0f2b7a52-7d2e-4d4c-9c3a-b1b1b1b1b1b1"
)


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return synth.template("ContainerService")


def _only(template: Template, type_: str) -> dict[str, Any]:
    resources = template.find_resources(type_)
    assert len(resources) == 1, f"expected one {type_}, found {len(resources)}"
    return dict(next(iter(resources.values())))


def _statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy").values()
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _logical_id(template: Template, type_: str, path_fragment: str) -> str:
    matches = [
        name
        for name, resource in template.find_resources(type_).items()
        if path_fragment in name or path_fragment in json.dumps(resource.get("Metadata", {}))
    ]
    assert len(matches) == 1, matches
    return matches[0]


# -- Service -----------------------------------------------------------------------------------


def test_deployments_roll_back_on_failure(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": {
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                "MinimumHealthyPercent": 100,
                "MaximumPercent": 200,
            }
        },
    )


def test_tasks_run_on_arm64_fargate(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "NetworkMode": "awsvpc",
        },
    )


def test_default_capacity_is_fargate_on_demand(template: Template) -> None:
    service = _only(template, "AWS::ECS::Service")
    assert service["Properties"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Weight": 1}
    ]
    assert "LaunchType" not in service["Properties"]
    template.has_resource_properties(
        "AWS::ECS::ClusterCapacityProviderAssociations",
        {"CapacityProviders": Match.array_with(["FARGATE", "FARGATE_SPOT"])},
    )


def test_container_has_a_health_check(template: Template) -> None:
    container = _only(template, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"][0]
    assert container["HealthCheck"] == {
        "Command": ["CMD", "python", "-m", "webapp.healthcheck"],
        "Interval": 15,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 15,
    }


def test_target_group_checks_health_on_the_app_port(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "TargetType": "ip",
            "Port": 8080,
            "HealthCheckPath": "/health",
            "Matcher": {"HttpCode": "200"},
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 3,
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
            ),
        },
    )


def _container(template: Template) -> dict[str, Any]:
    definition = _only(template, "AWS::ECS::TaskDefinition")
    return dict(definition["Properties"]["ContainerDefinitions"][0])


def test_container_root_filesystem_is_read_only(template: Template) -> None:
    assert _container(template)["ReadonlyRootFilesystem"] is True


def test_container_gets_longer_to_stop_than_the_app_takes_to_drain(template: Template) -> None:
    assert _container(template)["StopTimeout"] == 30  # > the app's 20 s graceful shutdown


def test_container_logs_to_its_own_log_group_without_blocking(template: Template) -> None:
    logging = _container(template)["LogConfiguration"]
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "WebLogs")
    assert logging["LogDriver"] == "awslogs"
    assert logging["Options"]["awslogs-group"] == {"Ref": log_group}
    assert logging["Options"]["mode"] == "non-blocking"


def _depends_on(template: Template, type_: str) -> set[str]:
    return set(_only(template, type_).get("DependsOn", []))


def test_service_waits_for_every_vpc_endpoint(template: Template) -> None:
    # Tasks started before the endpoints exist cannot pull or log, and trip the circuit breaker.
    endpoints = set(template.find_resources("AWS::EC2::VPCEndpoint"))
    assert len(endpoints) == 4
    assert endpoints <= _depends_on(template, "AWS::ECS::Service")


def test_service_waits_for_the_execution_role_policy(template: Template) -> None:
    policy = _logical_id(template, "AWS::IAM::Policy", "WebTaskDefinitionExecutionRole")
    assert policy in _depends_on(template, "AWS::ECS::Service")


def test_service_waits_for_the_cluster_capacity_providers(template: Template) -> None:
    association = next(
        iter(template.find_resources("AWS::ECS::ClusterCapacityProviderAssociations"))
    )
    assert association in _depends_on(template, "AWS::ECS::Service")


def test_image_is_built_from_the_asset_and_reports_its_hash(template: Template) -> None:
    container = _only(template, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"][0]
    image = container["Image"]["Fn::Sub"]
    tag = image.rsplit(":", 1)[1]
    assert "cdk-hnb659fds-container-assets" in image
    assert re.fullmatch(r"[0-9a-f]{64}", tag)
    assert {"Name": "APP_VERSION", "Value": tag} in container["Environment"]


def test_tasks_have_no_public_ip_and_no_route_out(template: Template) -> None:
    config = _only(template, "AWS::ECS::Service")["Properties"]["NetworkConfiguration"]
    assert config["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    task_subnets = config["AwsvpcConfiguration"]["Subnets"]
    route_tables = [
        a["Properties"]["RouteTableId"]
        for a in template.find_resources("AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"] in task_subnets
    ]
    assert len(route_tables) == 2  # one per AZ
    routes = template.find_resources("AWS::EC2::Route").values()
    assert [r for r in routes if r["Properties"]["RouteTableId"] in route_tables] == []
    template.resource_count_is("AWS::EC2::NatGateway", 0)


def test_vpc_endpoints_let_isolated_tasks_pull_images_and_log(template: Template) -> None:
    services = sorted(
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
    )
    assert services == [".ecr.api", ".ecr.dkr", ".logs", ".s3"]


def test_task_security_group_admits_only_the_load_balancer(template: Template) -> None:
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress")
    service_sg = _logical_id(template, "AWS::EC2::SecurityGroup", "WebServiceSecurityGroup")
    to_service = [
        i["Properties"]
        for i in ingress.values()
        if i["Properties"]["GroupId"] == {"Fn::GetAtt": [service_sg, "GroupId"]}
    ]
    assert len(to_service) == 1
    assert to_service[0]["FromPort"] == to_service[0]["ToPort"] == 8080
    assert "LoadBalancerSecurityGroup" in to_service[0]["SourceSecurityGroupId"]["Fn::GetAtt"][0]


def test_vpc_logs_all_traffic(template: Template) -> None:
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": _logical_id(template, "AWS::Logs::LogGroup", "WebFlowLogs")},
        },
    )


def test_vpc_spans_two_availability_zones(template: Template) -> None:
    subnets = template.find_resources("AWS::EC2::Subnet").values()
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets}
    assert len(zones) == 2


def test_cluster_has_container_insights(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


# -- Scaling -----------------------------------------------------------------------------------


def test_scales_between_two_and_ten_tasks(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"MinCapacity": 2, "MaxCapacity": 10, "ScalableDimension": "ecs:service:DesiredCount"},
    )


def test_scales_on_cpu_and_on_requests_per_target(template: Template) -> None:
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    targets = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "TargetValue"
        ]
        for p in policies
    }
    assert targets == {"ECSServiceAverageCPUUtilization": 60, "ALBRequestCountPerTarget": 1000}


# -- Load balancer -----------------------------------------------------------------------------


def test_load_balancer_logs_access_to_its_bucket(template: Template) -> None:
    alb = _only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in alb["Properties"]["LoadBalancerAttributes"]}
    bucket_id = next(iter(template.find_resources("AWS::S3::Bucket")))
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket_id}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    # The policy must exist before the ALB, which checks it can write when logging is enabled.
    assert any("AccessLogsPolicy" in d for d in alb.get("DependsOn", []))


def test_access_log_bucket_is_encrypted_private_and_tls_only(template: Template) -> None:
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
        },
    )
    policy = _only(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_elb_may_only_put_log_objects(template: Template) -> None:
    policy = _only(template, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert [s["Action"] for s in allows] == ["s3:PutObject"]
    assert allows[0]["Principal"]["Service"] == "logdelivery.elasticloadbalancing.amazonaws.com"
    assert "/alb/AWSLogs/" in json.dumps(allows[0]["Resource"])


def test_load_balancer_without_a_certificate_is_internal(template: Template) -> None:
    alb = _only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internal"
    # Nothing needs the public subnets: reserved, so no subnet, gateway or route to the internet.
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    assert not any("Public" in name for name in template.find_resources("AWS::EC2::Subnet")), (
        "a public subnet was created"
    )


def test_http_listener_forwards_to_the_service(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [Match.object_like({"Type": "forward"})],
        },
    )


# -- Least privilege ---------------------------------------------------------------------------


def test_task_role_has_no_permissions_by_default(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "WebTaskRole")
    assert (
        "ManagedPolicyArns" not in template.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    )
    attached = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert attached == []


def test_execution_role_pulls_and_logs_and_nothing_else(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "WebTaskDefinitionExecutionRole")
    policy = next(
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {
        action: s["Resource"]
        for s in statements
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert set(by_action) == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    wildcard = {action for action, resource in by_action.items() if resource == "*"}
    assert wildcard == {"ecr:GetAuthorizationToken"}  # it has no resource-level permissions
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "WebLogs")
    assert by_action["logs:PutLogEvents"] == {"Fn::GetAtt": [log_group, "Arn"]}
    assert "container-assets" in json.dumps(by_action["ecr:BatchGetImage"])


def test_no_policy_grants_wildcard_actions(template: Template) -> None:
    for statement in _statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all(a != "*" and not a.endswith(":*") for a in actions), statement


# -- Repository --------------------------------------------------------------------------------


def test_repository_scans_on_push_with_immutable_tags(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ECR::Repository",
        {"ImageScanningConfiguration": {"ScanOnPush": True}, "ImageTagMutability": "IMMUTABLE"},
    )


def test_repository_expires_untagged_and_keeps_the_last_tagged_images(template: Template) -> None:
    repository = _only(template, "AWS::ECR::Repository")["Properties"]
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    selections = [(r["rulePriority"], r["selection"]) for r in rules]
    assert selections == [
        (
            1,
            {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countNumber": 7,
                "countUnit": "days",
            },
        ),
        (
            2,
            {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": 30,
            },
        ),
    ]


def test_repository_is_retained_with_its_images(template: Template) -> None:
    repository = _only(template, "AWS::ECR::Repository")
    assert repository["DeletionPolicy"] == repository["UpdateReplacePolicy"] == "Retain"
    assert repository["Properties"]["EmptyOnDelete"] is False


def test_repository_encrypts_with_aws_managed_keys_by_default(template: Template) -> None:
    # AES-256 with AWS-managed keys is ECR's default: no KMS configuration in the template.
    repository = _only(template, "AWS::ECR::Repository")
    assert "EncryptionConfiguration" not in repository["Properties"]


def test_every_log_group_is_retained_for_ninety_days(template: Template) -> None:
    log_groups = template.find_resources("AWS::Logs::LogGroup").values()
    assert len(log_groups) == 2  # the tasks' and the VPC flow logs'
    for log_group in log_groups:
        assert log_group["DeletionPolicy"] == "Retain"
        assert log_group["Properties"]["RetentionInDays"] == 90


def test_repository_uri_is_a_stack_output(template: Template) -> None:
    repository = next(iter(template.find_resources("AWS::ECR::Repository")))
    output = template.find_outputs("RepositoryUri")["RepositoryUri"]
    assert repository in json.dumps(output["Value"])


# -- Monitoring --------------------------------------------------------------------------------


def test_alarms_cover_5xx_unhealthy_hosts_and_cpu(template: Template) -> None:
    alarms = template.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms)
    assert metrics == [
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ECS", "CPUUtilization"),
    ]


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(template: Template) -> None:
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


# -- The image ---------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_pinned_and_runs_as_non_root() -> None:
    lines = (ROOT / "containers" / "web" / "Dockerfile").read_text().splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) == 2
    assert all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", b) for b in bases), bases
    user = [line.split()[1] for line in lines if line.startswith("USER ")][-1]
    assert not user.startswith(("0", "root"))
    assert any(line.startswith("HEALTHCHECK ") for line in lines)


# -- Construct options (a separate small app, with cdk-nag on) ---------------------------------


@pytest.fixture(scope="module")
def variants() -> dict[str, Template]:
    """Fargate Spot running a CI-pushed tag with secrets and HTTPS; EC2 capacity; an existing
    cluster; a VPC with public subnets only; a repository with a KMS key shared with another
    account."""
    app = App()
    spot = Stack(app, "Spot")
    key = kms.Key(spot, "Key", enable_key_rotation=True)
    repository = ContainerRepository(
        spot,
        "Repository",
        encryption_key=key,
        pull_account_ids=["222222222222"],
        keep_tagged_images=5,
    )
    FargateWebService(
        spot,
        "Web",
        capacity=Capacity.FARGATE_SPOT,
        on_demand_base=2,
        repository=repository,
        image_tag="v1.4.2",
        secrets={
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(
                secretsmanager.Secret.from_secret_name_v2(spot, "Db", "prod/db")
            ),
            "API_TOKEN": ecs.Secret.from_ssm_parameter(
                ssm.StringParameter.from_secure_string_parameter_attributes(
                    spot, "Token", parameter_name="/web/api-token"
                )
            ),
        },
        certificate=acm.Certificate.from_certificate_arn(spot, "Cert", CERTIFICATE_ARN),
        allowed_cidrs=["203.0.113.0/24"],
        web_acl_arn=WEB_ACL_ARN,
        min_capacity=3,
        max_capacity=6,
    )
    ec2_stack = Stack(app, "Ec2")
    FargateWebService(ec2_stack, "Web", capacity=Capacity.EC2, max_instances=3)
    existing = Stack(app, "Existing")
    vpc = ec2.Vpc(existing, "TeamVpc", max_azs=2, nat_gateways=1)
    vpc.add_flow_log("FlowLogs")
    cluster = ecs.Cluster(
        existing,
        "TeamCluster",
        vpc=vpc,
        container_insights_v2=ecs.ContainerInsights.ENABLED,
        enable_fargate_capacity_providers=True,
    )
    FargateWebService(
        existing,
        "Web",
        cluster=cluster,
        architecture=Architecture.X86_64,
        internet_facing=False,
        allowed_cidrs=["10.0.0.0/8"],
        removal_policy=RemovalPolicy.DESTROY,
    )
    ContainerRepository(existing, "Repository", removal_policy=RemovalPolicy.DESTROY)
    public = Stack(app, "Public")
    public_vpc = ec2.Vpc(
        public,
        "DefaultLikeVpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)
        ],
    )
    public_vpc.add_flow_log("FlowLogs")
    FargateWebService(public, "Web", vpc=public_vpc)
    plain = Stack(app, "PlainHttp")
    FargateWebService(plain, "Web", allow_plain_http=True)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged nag finding in these options
    return {
        "spot": Template.from_stack(spot),
        "ec2": Template.from_stack(ec2_stack),
        "existing": Template.from_stack(existing),
        "public": Template.from_stack(public),
        "plain": Template.from_stack(plain),
    }


def test_spot_capacity_keeps_an_on_demand_base(variants: dict[str, Template]) -> None:
    service = _only(variants["spot"], "AWS::ECS::Service")
    assert service["Properties"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Base": 2, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]


def test_min_and_max_capacity_bound_the_task_count(variants: dict[str, Template]) -> None:
    template = variants["spot"]
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 3, "MaxCapacity": 6}
    )
    template.has_resource_properties("AWS::ECS::Service", {"DesiredCount": 3})


def test_keep_tagged_images_sets_the_lifecycle_count(variants: dict[str, Template]) -> None:
    repository = _only(variants["spot"], "AWS::ECR::Repository")["Properties"]
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    tagged = [r["selection"] for r in rules if r["selection"]["tagStatus"] == "tagged"]
    assert [(s["countType"], s["countNumber"]) for s in tagged] == [("imageCountMoreThan", 5)]


def test_ec2_capacity_uses_the_auto_scaling_group_provider(variants: dict[str, Template]) -> None:
    template = variants["ec2"]
    provider_id = next(iter(template.find_resources("AWS::ECS::CapacityProvider")))
    service = _only(template, "AWS::ECS::Service")
    assert service["Properties"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": {"Ref": provider_id}, "Base": 0, "Weight": 1}
    ]
    template.has_resource_properties(
        "AWS::ECS::CapacityProvider",
        {
            "AutoScalingGroupProvider": Match.object_like(
                {
                    "ManagedScaling": Match.object_like(
                        {"Status": "ENABLED", "TargetCapacity": 100}
                    ),
                    "ManagedTerminationProtection": "ENABLED",
                    "ManagedDraining": "ENABLED",
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition", {"RequiresCompatibilities": ["EC2", "FARGATE"]}
    )


def test_ec2_service_waits_for_its_capacity_provider_association(
    variants: dict[str, Template],
) -> None:
    template = variants["ec2"]
    association = _only(template, "AWS::ECS::ClusterCapacityProviderAssociations")
    provider_id = next(iter(template.find_resources("AWS::ECS::CapacityProvider")))
    assert {"Ref": provider_id} in association["Properties"]["CapacityProviders"]
    association_id = next(
        iter(template.find_resources("AWS::ECS::ClusterCapacityProviderAssociations"))
    )
    assert association_id in _depends_on(template, "AWS::ECS::Service")


def test_ec2_instances_are_graviton_imdsv2_and_encrypted(variants: dict[str, Template]) -> None:
    data = _only(variants["ec2"], "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    assert data["InstanceType"] == "t4g.medium"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    variants["ec2"].has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup", {"MinSize": "0", "MaxSize": "3"}
    )


def test_ec2_instances_join_the_cluster(variants: dict[str, Template]) -> None:
    template = variants["ec2"]
    cluster_id = next(iter(template.find_resources("AWS::ECS::Cluster")))
    data = _only(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    user_data = json.dumps(data["UserData"])
    assert "ECS_CLUSTER=" in user_data
    assert json.dumps({"Ref": cluster_id}) in user_data


def test_ec2_instances_reach_ecs_through_endpoints(variants: dict[str, Template]) -> None:
    services = {
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for e in variants["ec2"].find_resources("AWS::EC2::VPCEndpoint").values()
    }
    assert {".ecs", ".ecs-agent", ".ecs-telemetry"} <= services


def test_repository_image_and_tag_are_used(variants: dict[str, Template]) -> None:
    container = _only(variants["spot"], "AWS::ECS::TaskDefinition")["Properties"][
        "ContainerDefinitions"
    ][0]
    assert container["Image"]["Fn::Join"][1][-1] == ":v1.4.2"
    assert {"Name": "APP_VERSION", "Value": "v1.4.2"} in container["Environment"]


def test_secrets_are_injected_and_readable_by_the_execution_role_only(
    variants: dict[str, Template],
) -> None:
    template = variants["spot"]
    container = _only(template, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"][0]
    assert sorted(s["Name"] for s in container["Secrets"]) == ["API_TOKEN", "DB_PASSWORD"]
    readers = [
        p["Properties"]["Roles"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if "secretsmanager:GetSecretValue" in json.dumps(p) or "ssm:GetParameters" in json.dumps(p)
    ]
    assert len(readers) == 1
    assert "ExecutionRole" in readers[0][0]["Ref"]


def test_secrets_get_their_endpoints_in_isolated_subnets(variants: dict[str, Template]) -> None:
    services = {
        e["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for e in variants["spot"].find_resources("AWS::EC2::VPCEndpoint").values()
    }
    assert {".secretsmanager", ".ssm"} <= services


def test_certificate_adds_https_and_redirects_http(variants: dict[str, Template]) -> None:
    template = variants["spot"]
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": CERTIFICATE_ARN}],
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "DefaultActions": [
                {
                    "Type": "redirect",
                    "RedirectConfig": {
                        "Protocol": "HTTPS",
                        "Port": "443",
                        "StatusCode": "HTTP_301",
                    },
                }
            ],
        },
    )


def test_allowed_cidrs_limit_who_reaches_the_load_balancer(variants: dict[str, Template]) -> None:
    groups = variants["spot"].find_resources("AWS::EC2::SecurityGroup").values()
    ingress = [rule for g in groups for rule in g["Properties"].get("SecurityGroupIngress", [])]
    others = [r for r in ingress if "CidrIp" in r and r["CidrIp"] != "203.0.113.0/24"]
    # The only other CIDR rule is the endpoints' HTTPS from the VPC's own range.
    assert [(r["CidrIp"], r["FromPort"]) for r in others] == [("10.0.0.0/16", 443)]
    assert {r["FromPort"] for r in ingress if r.get("CidrIp") == "203.0.113.0/24"} == {80, 443}


def test_cross_account_pull_grant_allows_pulling_only(variants: dict[str, Template]) -> None:
    repository = _only(variants["spot"], "AWS::ECR::Repository")["Properties"]
    statement = repository["RepositoryPolicyText"]["Statement"]
    assert len(statement) == 1
    assert sorted(statement[0]["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert "222222222222" in json.dumps(statement[0]["Principal"])


def test_repository_encrypts_with_the_given_key(variants: dict[str, Template]) -> None:
    repository = _only(variants["spot"], "AWS::ECR::Repository")["Properties"]
    assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    assert "Key" in repository["EncryptionConfiguration"]["KmsKey"]["Fn::GetAtt"][0]


def test_existing_cluster_and_vpc_are_used_and_nothing_network_created(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::ECS::Cluster", 1)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 0)  # the team's VPC has NAT
    subnets = _only(template, "AWS::ECS::Service")["Properties"]["NetworkConfiguration"][
        "AwsvpcConfiguration"
    ]["Subnets"]
    assert all("Private" in s["Ref"] for s in subnets)


def test_service_in_an_existing_vpc_waits_for_its_nat_routes(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    routes = {
        name
        for name, route in template.find_resources("AWS::EC2::Route").items()
        if "NatGatewayId" in route["Properties"]
    }
    assert len(routes) == 2
    assert routes <= _depends_on(template, "AWS::ECS::Service")


def test_tasks_in_public_subnets_get_a_public_ip_to_pull_and_log(
    variants: dict[str, Template],
) -> None:
    # A VPC with public subnets only (like the default VPC) has no NAT and no endpoints.
    config = _only(variants["public"], "AWS::ECS::Service")["Properties"]["NetworkConfiguration"]
    assert config["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert all("Public" in s["Ref"] for s in config["AwsvpcConfiguration"]["Subnets"])


def test_web_acl_is_associated_with_the_load_balancer(variants: dict[str, Template]) -> None:
    template = variants["spot"]
    alb = next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")))
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"ResourceArn": {"Ref": alb}, "WebACLArn": WEB_ACL_ARN},
    )


def test_x86_64_builds_the_image_for_amd64(variants: dict[str, Template]) -> None:
    variants["existing"].has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"RuntimePlatform": {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}},
    )


def test_certificate_makes_the_load_balancer_internet_facing(
    variants: dict[str, Template],
) -> None:
    alb = _only(variants["spot"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internet-facing"
    assert all("Public" in s["Ref"] for s in alb["Properties"]["Subnets"])


def test_plain_http_to_the_internet_only_when_asked_for_by_name(
    variants: dict[str, Template],
) -> None:
    template = variants["plain"]
    alb = _only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internet-facing"
    assert all("Public" in s["Ref"] for s in alb["Properties"]["Subnets"])
    (listener,) = template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    assert (listener["Properties"]["Port"], listener["Properties"]["Protocol"]) == (80, "HTTP")
    template.resource_count_is("AWS::EC2::InternetGateway", 1)


def test_internet_facing_without_a_certificate_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^internet_facing=True without a certificate .*"):
        FargateWebService(Stack(App(), "S"), "Web", internet_facing=True)


def test_internet_facing_context_without_a_certificate_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        build_app(context={"stacks": "ContainerService", "internet_facing": "true"})
    assert str(caught.value) == (
        "context ContainerService:internet_facing='true': expected a certificate_arn with it "
        "(HTTPS), or allow_plain_http=true for a plain-HTTP demo"
    )


def test_internal_load_balancer_stays_in_private_subnets(variants: dict[str, Template]) -> None:
    alb = _only(variants["existing"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Properties"]["Scheme"] == "internal"
    assert all("Private" in s["Ref"] for s in alb["Properties"]["Subnets"])


def test_destroy_empties_and_deletes_repository_logs_and_bucket(
    variants: dict[str, Template],
) -> None:
    template = variants["existing"]
    repository = _only(template, "AWS::ECR::Repository")
    assert repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["EmptyOnDelete"] is True
    assert _only(template, "AWS::S3::Bucket")["DeletionPolicy"] == "Delete"
    web_logs = _logical_id(template, "AWS::Logs::LogGroup", "WebLogs")
    assert template.find_resources("AWS::Logs::LogGroup")[web_logs]["DeletionPolicy"] == "Delete"


# -- Validation (no synth) ---------------------------------------------------------------------


def test_repository_without_a_tag_is_refused() -> None:
    stack = Stack(App(), "Bad")
    repository = ContainerRepository(stack, "Repo")
    with pytest.raises(ValueError, match="image_tag is required"):
        FargateWebService(stack, "Web", repository=repository)


def test_unknown_capacity_in_context_is_refused() -> None:
    app = App(context={"ContainerService:capacity": "lambda"})
    with pytest.raises(ValueError, match="capacity='lambda'"):
        ContainerServiceStack(app, "ContainerService")
