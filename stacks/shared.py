"""What every pattern shares, and nothing else: configuration from context, cdk-nag
acknowledgements, the alarm topic and alarm wiring, log retention, the Powertools layer and the
house Lambda, the dead-letter queue, the secure bucket defaults and access-log bucket, the
flow-logged VPC and its endpoints, and API Gateway's account-wide logging role.

Copying one pattern into another CDK app means copying its module, this one, and its
handler or container folder; the pattern modules import this one relatively.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# Powertools for AWS Lambda (Python) publishes its layer in every commercial region from this
# account. Layer version 27 is Powertools 3.23.0, the version requirements-dev.txt pins so that
# the handler tests run the library that runs in Lambda. Bump both together.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on one construct, with the reason a reviewer reads.

    ``rule_id`` is a single rule (``AwsSolutions-L1``) or a single finding of a rule
    (``AwsSolutions-IAM5[Resource::*]``); never a whole pack.
    """
    if not reason.strip() or len(reason) < 20:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


# Not SNAPSHOT: CloudFormation snapshots volumes and databases, none of which a pattern here
# creates; a stack asked for it would fail to deploy.
_REMOVAL_POLICIES = {
    "retain": RemovalPolicy.RETAIN,
    "destroy": RemovalPolicy.DESTROY,
}


class ContextConfig:
    """Typed reads of CDK context for one stack.

    A key is looked up as ``<Stack>:<key>`` first, then as the plain ``<key>`` shared by
    every stack, then falls back to the default. Values from ``cdk -c`` arrive as strings;
    values from cdk.json keep their JSON type; both are accepted.
    """

    def __init__(self, scope: Construct, prefix: str) -> None:
        self._scope = scope
        self._prefix = prefix

    def _raw(self, key: str) -> Any:
        for name in (f"{self._prefix}:{key}", key):
            value = self._scope.node.try_get_context(name)
            if value is not None:
                return value
        return None

    def _fail(self, key: str, value: Any, expected: str) -> ValueError:
        return ValueError(f"context {self._prefix}:{key}={value!r}: expected {expected}")

    def get_str(self, key: str, default: str) -> str:
        value = self._raw(key)
        return default if value is None else str(value)

    def get_optional_str(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value in (None, "") else str(value)

    def get_int(self, key: str, default: int) -> int:
        value = self._raw(key)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self._fail(key, value, "an integer") from None

    def get_bool(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise self._fail(key, value, "true or false")

    def get_list(self, key: str, default: list[str]) -> list[str]:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, list):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]

    def removal_policy(self, key: str = "removal_policy") -> RemovalPolicy:
        value = self.get_str(key, "retain").lower()
        if value not in _REMOVAL_POLICIES:
            raise self._fail(key, value, f"one of {sorted(_REMOVAL_POLICIES)}")
        return _REMOVAL_POLICIES[value]


def ensure_alarm_topic(
    scope: Construct,
    id: str,
    *,
    topic: sns.ITopic | None = None,
    email: str | None = None,
) -> sns.ITopic:
    """Return ``topic`` if given, else create an encrypted, TLS-only SNS topic for alarms.

    The topic is encrypted with a customer-managed key (about $1/month) because CloudWatch
    alarms cannot publish to a topic encrypted with the AWS-managed ``aws/sns`` key.
    """
    if topic is None:
        key = kms.Key(
            scope,
            f"{id}Key",
            description=f"Encrypts the alarm topic of {scope.node.path}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # "*" in a key policy means this key only
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
            )
        )
        topic = sns.Topic(scope, id, master_key=key, enforce_ssl=True, display_name="Alarms")
    if email:
        topic.add_subscription(subs.EmailSubscription(email))
    return topic


class Alarms:
    """Creates alarms that all notify one topic, on alarm and on recovery.

    Missing data is not breaching: an idle service is a healthy one.
    """

    def __init__(self, scope: Construct, topic: sns.ITopic) -> None:
        self._scope = scope
        self._action = cw_actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def add(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self._scope,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm


def function_graph(title: str, function: lambda_.IFunction) -> cloudwatch.GraphWidget:
    """A dashboard graph of a function: invocations, errors and throttles, with p99 duration."""
    return cloudwatch.GraphWidget(
        title=title,
        left=[
            function.metric_invocations(statistic="Sum"),
            function.metric_errors(statistic="Sum"),
            function.metric_throttles(statistic="Sum"),
        ],
        right=[function.metric_duration(statistic="p99")],
    )


def powertools_layer(
    scope: Construct,
    id: str,
    *,
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
    python: str = "python313",
    version: int = POWERTOOLS_LAYER_VERSION,
) -> lambda_.ILayerVersion:
    """The public, AWS-managed Powertools layer for the stack's region: no bundling, no Docker."""
    arch = architecture.name  # "arm64" or "x86_64", as in the layer name
    stack = Stack.of(scope)
    arn = (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, id, arn)


def function_role_and_logs(
    scope: Construct,
    id: str,
    *,
    role_description: str,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> tuple[iam.Role, logs.LogGroup]:
    """A function's own log group (``<id>Logs``) and its own role (``<id>Role``), which may
    write only to that log group. Not ``AWSLambdaBasicExecutionRole``: that managed policy lets
    a function write to every log group in the account."""
    log_group = logs.LogGroup(
        scope, f"{id}Logs", retention=log_retention, removal_policy=removal_policy
    )
    role = iam.Role(
        scope,
        f"{id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group.grant_write(role)
    return role, log_group


# -- Lambda code and its pinned dependencies ------------------------------------------------------

# What every house function runs on (python_function): the wheels bundled for it must match.
LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAMBDA_PYTHON = "3.13"
REQUIREMENTS = "requirements.txt"
_SKIPPED = ("__pycache__", ".pyc", ".pytest_cache", ".mypy_cache")
# Wheels for the Lambda platform only, whatever this machine is; no .pyc for this machine's
# Python (Lambda's 3.13 would not use them, and they would make bundles differ).
_PIP_INSTALL = (
    *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
    *("--no-compile", "--only-binary=:all:", "--implementation", "cp"),
    *("--platform", LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON),
)


def bundle_cache_dir() -> Path:
    """Where installed dependencies are kept between synths, one folder per lock hash:
    ``$CDK_BUNDLE_CACHE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/aws-cdk-reference/bundles."""
    explicit = os.environ.get("CDK_BUNDLE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aws-cdk-reference" / "bundles"


def _source_files(code_path: Path) -> list[Path]:
    return sorted(
        p
        for p in code_path.rglob("*")
        if p.is_file()
        and not any(part.endswith(_SKIPPED) for part in p.relative_to(code_path).parts)
    )


def _lock_hash(requirements: Path) -> str:
    """The install's identity: the pinned requirements and the platform they are for."""
    digest = hashlib.sha256(f"{LAMBDA_PLATFORM}|cp{LAMBDA_PYTHON}\n".encode())
    digest.update(requirements.read_bytes())
    return digest.hexdigest()


def code_hash(code_path: Path) -> str:
    """The asset's identity, the same on every machine: the lock hash and every source file's
    relative path and bytes (not mtimes or absolute paths, which differ between checkouts)."""
    digest = hashlib.sha256(_lock_hash(code_path / REQUIREMENTS).encode())
    for path in _source_files(code_path):
        digest.update(path.relative_to(code_path).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _pip_failure(requirements: Path, stderr: str) -> ValueError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    missing = [line for line in lines if "No matching distribution found for" in line]
    if missing:
        package = missing[-1].rsplit("for", 1)[-1].strip()
        return ValueError(
            f"{requirements}: no {LAMBDA_PLATFORM} wheel for CPython {LAMBDA_PYTHON} of "
            f"{package!r}; pin a version that publishes one (wheels only: no compilers, no "
            "Docker at synth)"
        )
    last = lines[-1] if lines else "no output"
    return ValueError(f"{requirements}: pip could not install it for {LAMBDA_PLATFORM}: {last}")


def install_dependencies(requirements: Path, cache: Path | None = None) -> Path:
    """The wheels of ``requirements`` for the Lambda platform, installed once per lock hash
    into the cache and reused by every later synth; a folder to copy into the asset.

    Wheels only (``--only-binary=:all:``) for ``LAMBDA_PLATFORM`` and CPython
    ``LAMBDA_PYTHON``: nothing is compiled and nothing runs in Docker. A package with no such
    wheel is a one-line ``ValueError`` naming it.
    """
    target = (cache or bundle_cache_dir()) / _lock_hash(requirements)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the cache and renamed into place: a concurrent synth (pytest-xdist, two
    # terminals) sees a complete folder or none.
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, the file is the project's own
            [*_PIP_INSTALL, "--target", str(staging), "-r", str(requirements)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise _pip_failure(requirements, result.stderr)
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts for this machine
        try:
            staging.rename(target)
        except OSError:  # another process won the race; its folder is as good as ours
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)  # the cache and cdk.out are usually on one disk
    except OSError:
        shutil.copy2(source, destination)


@jsii.implements(ILocalBundling)
class _WheelsAndSources:
    """CDK local bundling (no Docker): the asset is the installed wheels plus the sources."""

    def __init__(self, code_path: Path, cache: Path | None = None) -> None:
        self._code_path = code_path
        self._cache = cache

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        installed = install_dependencies(self._code_path / REQUIREMENTS, self._cache)
        shutil.copytree(installed, output_dir, dirs_exist_ok=True, copy_function=_link_or_copy)
        for path in _source_files(self._code_path):
            relative = path.relative_to(self._code_path)
            if relative.as_posix() == REQUIREMENTS:
                continue
            destination = Path(output_dir) / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        return True


@functools.cache
def _bundling(code_path: Path) -> BundlingOptions:
    # One object per folder: CDK hashes the options and caches bundles by them within a run.
    return BundlingOptions(
        image=DockerImage.from_registry("unused-local-bundling-only"),
        local=_WheelsAndSources(code_path),
    )


def lambda_code(scope: Construct, code_path: str | Path) -> lambda_.Code:
    """A zip asset of ``code_path``. When the folder carries a pinned ``requirements.txt``, its
    wheels for the Lambda platform are bundled in (see ``install_dependencies``), with a
    content hash of the lock and the sources so the asset is the same on every machine.

    CDK bundles only the stacks the CLI selected (``cdk deploy A`` skips B's bundles); the wheels
    are installed here first, in Python, so a missing wheel fails synth with one line.
    """
    path = Path(code_path).resolve()
    if not (path / REQUIREMENTS).is_file():
        return lambda_.Code.from_asset(str(path), exclude=["**/__pycache__"])
    if Stack.of(scope).bundling_required:
        install_dependencies(path / REQUIREMENTS)
    return lambda_.Code.from_asset(
        str(path),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=code_hash(path),
        bundling=_bundling(path),
    )


def python_function(
    scope: Construct,
    id: str,
    *,
    code_path: str,
    handler: str,
    description: str,
    environment: Mapping[str, str],
    memory_size: int = 256,
    timeout: Duration | None = None,
    reserved_concurrency: int | None = None,
    log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> lambda_.Function:
    """A python3.13 arm64 function with the Powertools layer, X-Ray, JSON logs in its own log
    group (``<id>Logs``), and its own role (``<id>Role``) that may write only to that log group.

    Not ``AWSLambdaBasicExecutionRole``: that managed policy lets a function write to every log
    group in the account. Callers add their own grants (``table.grant_read_data(function)``).
    A ``requirements.txt`` in ``code_path`` is bundled for the function's platform
    (``lambda_code``); boto3 and Powertools come from the runtime and the layer, not from it.
    """
    role, log_group = function_role_and_logs(
        scope,
        id,
        role_description=f"{description}: its log group, X-Ray, and what its construct grants",
        log_retention=log_retention,
        removal_policy=removal_policy,
    )
    function = lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_code(scope, code_path),
        layers=[powertools_layer(scope, f"{id}Powertools")],
        memory_size=memory_size,
        timeout=timeout or Duration.seconds(10),
        reserved_concurrent_executions=reserved_concurrency,
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        role=role,
        environment=dict(environment),
        description=description,
    )
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Pinned to python3.13 (supported by Lambda into 2029) to match the Powertools layer "
        "(python313) and the pinned library the tests run; upgrade both together.",
    )
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions; X-Ray's own documentation grants them on *.",
        )
    return function


def merge_props(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Caller's overrides on top of the secure defaults (the Solutions Constructs escape hatch)."""
    return {**defaults, **(overrides or {})}


# -- DynamoDB ----------------------------------------------------------------------------------


def secure_table_props(removal_policy: RemovalPolicy) -> dict[str, Any]:
    """The props every table here starts from: on-demand (no capacity to size, pay per
    request), encrypted, point-in-time recovery, deletion protection unless the caller asked for
    DESTROY. Add the keys and TTL, then merge the caller's ``table_props`` over them."""
    return {
        "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
        "encryption": dynamodb.TableEncryption.AWS_MANAGED,
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        "deletion_protection": removal_policy != RemovalPolicy.DESTROY,
        "removal_policy": removal_policy,
    }


# -- Queues ----------------------------------------------------------------------------------


def dead_letter_queue(
    scope: Construct, id: str, *, of: str, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """An SQS queue for what failed every retry (``of`` says whose failures): SSE-SQS, so
    Lambda, EventBridge and Scheduler can send to it with no key policy to maintain; TLS-only;
    messages kept 14 days, SQS's maximum, for inspection and redrive. Alarm on its depth."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        f"This queue is itself the dead-letter destination of {of}; messages are kept 14 "
        "days for inspection and redrive, and its depth raises an alarm.",
    )
    return queue


# -- S3 ----------------------------------------------------------------------------------------

# Server access logs are delivered by bucket policy, not by the log-delivery ACL (ACLs are off on
# every bucket here). A construct that logs a bucket sets this on its own subtree, first thing in
# its __init__, so it behaves the same in an app whose cdk.json lacks the flag.
ACCESS_LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def secure_bucket_props(removal_policy: RemovalPolicy) -> dict[str, Any]:
    """The props every bucket here starts from: SSE-S3, all public access blocked, ACLs off
    (bucket owner enforced), TLS 1.2+ only. Merge a bucket's own props over them."""
    return {
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "removal_policy": removal_policy,
    }


def access_logs_bucket(
    scope: Construct,
    id: str,
    *,
    logs_of: str,
    removal_policy: RemovalPolicy,
    expiration: Duration,
    bucket_props: Mapping[str, Any] | None = None,
) -> s3.Bucket:
    """A bucket that receives access logs (S3 server access logs, load balancer logs): the
    secure defaults with SSE-S3, the only encryption log delivery writes to, and logs expired
    after ``expiration``. Its own access is not logged, and cdk-nag is told why."""
    bucket = s3.Bucket(
        scope,
        id,
        **merge_props(
            {
                **secure_bucket_props(removal_policy),
                "lifecycle_rules": [
                    s3.LifecycleRule(
                        id="ExpireLogs",
                        expiration=expiration,
                        abort_incomplete_multipart_upload_after=Duration.days(1),
                    )
                ],
            },
            bucket_props,
        ),
    )
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        f"This bucket receives the access logs of {logs_of}; logging its own access would need "
        "another log bucket, and that one another. It is private, TLS-only and expires logs.",
    )
    return bucket


# -- VPC ---------------------------------------------------------------------------------------

# Interface endpoints a task or job in a subnet without NAT needs to pull its image from ECR and
# to write its logs (image layers come from S3, through the gateway endpoint).
CONTAINER_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}
# What an EC2 container instance's ECS agent needs, on top, to register with its cluster.
ECS_AGENT_ENDPOINTS: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "EcsAgent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "EcsTelemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
}


def flow_logged_vpc(
    scope: Construct,
    id: str,
    *,
    cidr: str,
    subnet_configuration: list[ec2.SubnetConfiguration],
    nat_gateways: int,
    log_retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> ec2.Vpc:
    """A 2-AZ VPC whose flow logs (all traffic) go to a CloudWatch log group, ``FlowLogs``,
    kept for ``log_retention``. Each NAT gateway costs about $33/month plus $0.045/GB."""
    flow_logs = logs.LogGroup(
        scope, "FlowLogs", retention=log_retention, removal_policy=removal_policy
    )
    return ec2.Vpc(
        scope,
        id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        max_azs=2,
        nat_gateways=nat_gateways,
        subnet_configuration=subnet_configuration,
        flow_logs={
            "All": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
        },
    )


def add_vpc_endpoints(
    scope: Construct,
    vpc: ec2.Vpc,
    *,
    cidr: str,
    services: Mapping[str, ec2.InterfaceVpcEndpointAwsService],
    subnets: ec2.SubnetSelection | None = None,
) -> list[ec2.IVpcEndpoint]:
    """The S3 gateway endpoint (free) and an interface endpoint per service (about $7.30/month
    per AZ each), all behind one security group that admits HTTPS from ``cidr`` only (a literal,
    so reviewers and cdk-nag can read it) and sends nothing out."""
    endpoints: list[ec2.IVpcEndpoint] = [
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    ]
    security_group = ec2.SecurityGroup(
        scope,
        "EndpointSecurityGroup",
        vpc=vpc,
        description="VPC interface endpoints: HTTPS from inside the VPC",
        allow_all_outbound=False,
    )
    security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443))
    for name, service in services.items():
        endpoints.append(
            vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=subnets,
                security_groups=[security_group],
                open=False,
            )
        )
    return endpoints


# -- API Gateway -------------------------------------------------------------------------------


def api_gateway_logging_role(scope: Construct) -> apigw.CfnAccount:
    """API Gateway's one logging role per account and region (REST and WebSocket APIs write
    execution logs through it), and the account setting that points at it.

    Both are RETAINed: when this stack goes, every other API in the account keeps logging.
    Make the stages depend on the returned resource. A team whose platform already sets the
    role should skip this (each pattern has a prop for that).
    """
    role = iam.Role(
        scope,
        "ApiGatewayLoggingRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            )
        ],
    )
    role.apply_removal_policy(RemovalPolicy.RETAIN)
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-wide API Gateway logging role; this AWS-managed policy is the one "
        "API Gateway documents for it and is limited to CloudWatch Logs.",
    )
    account = apigw.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)
    return account
